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
from .infer_layers import _EMPTY, BinaryConvInfer, _t, register_scales
from .swinir_infer import SwinIRInfer


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
        return cfg, SwinIRInfer(cfg, tensors).eval(), meta
    return cfg, EDSRInfer(cfg, tensors).eval(), meta
