"""Inference network built from a model file: the executable form of docs/model-format.md.

It runs the exported tensors (+-1 weights unpacked from their bits, the stored scales) with the
same operations, in the same order, as the training network in eval mode, so its output equals
the training network's exactly; it is what the TorchScript oracle for the C++ engine is made of.
"""
from __future__ import annotations

from typing import List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .edsr import ModelConfig, upsample_factors
from .modelfile import unpack_sign_bits


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


_EMPTY = np.zeros((0,), dtype=np.float32)


def register_scales(m: nn.Module, t: dict, p: str) -> None:
    """The SCALES factors of binary layer P as buffers of m (empty when the file lacks them), with
    has_* flags: k, shift, alpha, the spatial bias and the channel branch. The spatial weight's
    shape depends on the layer, so each layer registers it."""
    g = lambda n: t.get(f"{p}.{n}", _EMPTY)  # noqa: E731
    m.has_shift = f"{p}.shift" in t
    m.has_alpha = f"{p}.alpha" in t
    m.has_spatial = f"{p}.spatial.weight" in t
    m.has_channel = f"{p}.channel.fc1.weight" in t
    m.register_buffer("k", _t(t[f"{p}.weight_scale"]))
    for name, key in (("shift", "shift"), ("alpha", "alpha"), ("sp_b", "spatial.bias"),
                      ("fc1_w", "channel.fc1.weight"), ("fc1_b", "channel.fc1.bias"),
                      ("fc2_w", "channel.fc2.weight"), ("fc2_b", "channel.fc2.bias")):
        m.register_buffer(name, _t(g(key)))


class BinaryConvInfer(nn.Module):
    """z = x + conv3x3(pad(sign(x + shift), +1), sign W) * (alpha*k) * s * c  (see layers.py)."""

    def __init__(self, t: dict, p: str, channels: int):
        super().__init__()
        register_scales(self, t, p)
        self.register_buffer("wsign", _t(unpack_sign_bits(t[f"{p}.weight_bits"], channels)))
        sw = t.get(f"{p}.spatial.weight", _EMPTY)
        self.register_buffer("sp_w", _t(sw.reshape(1, -1, 1, 1) if sw.size else sw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x + self.shift.view(1, -1, 1, 1) if self.has_shift else x
        one = torch.ones((), dtype=u.dtype, device=u.device)
        a = F.pad(torch.where(u >= 0, one, -one), (1, 1, 1, 1), value=1.0)
        y = F.conv2d(a, self.wsign)
        g = (self.alpha * self.k if self.has_alpha else self.k).view(1, -1, 1, 1)
        if self.has_spatial:
            g = g * torch.sigmoid(F.conv2d(x, self.sp_w, self.sp_b))
        if self.has_channel:
            m = x.mean(dim=(2, 3))
            c = torch.sigmoid(F.linear(F.relu(F.linear(m, self.fc1_w, self.fc1_b)), self.fc2_w, self.fc2_b))
            g = g * c.view(c.shape[0], -1, 1, 1)
        return x + y * g


class FPConvInfer(nn.Module):
    def __init__(self, t: dict, p: str):
        super().__init__()
        self.register_buffer("w", _t(t[f"{p}.weight"]))
        self.register_buffer("b", _t(t[f"{p}.bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.conv2d(x, self.w, self.b, padding=1)


class BlockInfer(nn.Module):
    def __init__(self, conv1: nn.Module, act: np.ndarray, conv2: nn.Module):
        super().__init__()
        self.conv1 = conv1
        self.conv2 = conv2
        self.register_buffer("act", _t(act))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.prelu(self.conv1(x), self.act))


class UpInfer(nn.Module):
    def __init__(self, w: np.ndarray, b: np.ndarray, r: int):
        super().__init__()
        self.r = r
        self.register_buffer("w", _t(w))
        self.register_buffer("b", _t(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(F.conv2d(x, self.w, self.b, padding=1), self.r)


class EDSRInfer(nn.Module):
    """(N, 3, h, w) RGB in [0, 1] -> (N, 3, s*h, s*w), unclamped."""

    def __init__(self, cfg: ModelConfig, t: dict):
        super().__init__()
        c = cfg.channels

        def res(p: str) -> nn.Module:
            return BinaryConvInfer(t, p, c) if cfg.binary else FPConvInfer(t, p)

        self.register_buffer("rgb_mean", _t(t["rgb_mean"]).view(1, 3, 1, 1))
        self.register_buffer("head_w", _t(t["head.weight"]))
        self.register_buffer("head_b", _t(t["head.bias"]))
        self.blocks = nn.ModuleList(
            BlockInfer(res(f"body.{i}.conv1"), t[f"body.{i}.act.weight"], res(f"body.{i}.conv2"))
            for i in range(cfg.blocks))
        self.body_end = res("body_end")
        self.up = nn.ModuleList(UpInfer(t[f"up.{j}.weight"], t[f"up.{j}.bias"], r)
                                for j, r in enumerate(upsample_factors(cfg.scale)))
        self.register_buffer("tail_w", _t(t["tail.weight"]))
        self.register_buffer("tail_b", _t(t["tail.bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f0 = F.conv2d(x - self.rgb_mean, self.head_w, self.head_b, padding=1)
        f = f0
        for blk in self.blocks:
            f = blk(f)
        f = self.body_end(f) + f0
        for up in self.up:
            f = up(f)
        return F.conv2d(f, self.tail_w, self.tail_b, padding=1) + self.rgb_mean


def load_inference(path) -> tuple:
    """(config, inference network, metadata) for a model file of either architecture."""
    from .modelfile import read_model
    cfg, tensors, meta = read_model(path)
    if meta.get("architecture") == "scales-swinir":
        from .swinir_infer import SwinIRInfer
        return cfg, SwinIRInfer(cfg, tensors).eval(), meta
    return cfg, EDSRInfer(cfg, tensors).eval(), meta
