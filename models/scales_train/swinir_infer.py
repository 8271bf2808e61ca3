"""SCALES-SwinIR inference network built from a model file (the TorchScript oracle's source):
the exported tensors (+-1 weights unpacked from their bits, the stored scales, each layer's
position bias already gathered) run through the same functions, in the same order, as
swinir.ScalesSwinIR in eval mode, so the outputs are equal."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .infer_layers import _EMPTY, BinaryConvInfer, _t, register_scales
from .modelfile import unpack_sign_bits
from .swinir import SwinConfig, binary_linears, match_channels, pad_to_window, window_attention
from .swinir_file import LINEARS, layer_prefix


class BinaryLinearInfer(nn.Module):
    """z = res(x) + (sign(x + shift) @ sign(W)^T) * (alpha*k) * s(token) * c(channel); without the
    residual (linear_residual same_width, O != I) z is the binary term alone."""

    def __init__(self, t: dict, p: str, cin: int, cout: int, residual: bool = True):
        super().__init__()
        self.cout, self.residual = cout, residual
        register_scales(self, t, p)
        bits = t[f"{p}.weight_bits"]
        self.register_buffer("wsign", _t(unpack_sign_bits(bits.reshape(cout, 1, 1, -1), cin).reshape(cout, cin)))
        self.register_buffer("sp_w", _t(t.get(f"{p}.spatial.weight", _EMPTY)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x + self.shift if self.has_shift else x
        one = torch.ones((), dtype=u.dtype, device=u.device)
        y = F.linear(torch.where(u >= 0, one, -one), self.wsign)
        g = self.alpha * self.k if self.has_alpha else self.k
        g = g.view(1, 1, -1)
        if self.has_spatial:
            g = g * torch.sigmoid(F.linear(x, self.sp_w, self.sp_b))
        if self.has_channel:
            c = torch.sigmoid(F.linear(F.relu(F.linear(x.mean(dim=1), self.fc1_w, self.fc1_b)), self.fc2_w, self.fc2_b))
            g = g * c.unsqueeze(1)
        if not self.residual:
            return y * g
        return match_channels(x, self.cout) + y * g


class LinearInfer(nn.Module):
    def __init__(self, t: dict, p: str):
        super().__init__()
        self.register_buffer("w", _t(t[f"{p}.weight"]))
        self.register_buffer("b", _t(t[f"{p}.bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.w, self.b)


class ConvInfer(nn.Module):
    """A plain FP 3x3 conv (the FP twin's group conv: no inner residual)."""

    def __init__(self, t: dict, p: str):
        super().__init__()
        self.register_buffer("w", _t(t[f"{p}.weight"]))
        self.register_buffer("b", _t(t[f"{p}.bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.w, self.b, padding=1)


class SwinLayerInfer(nn.Module):
    def __init__(self, cfg: SwinConfig, t: dict, p: str, shift: int):
        super().__init__()
        self.heads, self.window, self.shift, self.c = cfg.heads, cfg.window, shift, cfg.channels
        for n in ("norm1", "norm2"):
            self.register_buffer(f"{n}_w", _t(t[f"{p}.{n}.weight"]))
            self.register_buffer(f"{n}_b", _t(t[f"{p}.{n}.bias"]))
        self.register_buffer("bias", _t(t[f"{p}.attn.position_bias"]))
        lin = {}
        for n, (i, o) in zip(LINEARS, binary_linears(cfg)):
            res = cfg.linear_residual == "matched" or i == o
            lin[n] = BinaryLinearInfer(t, f"{p}.{n}", i, o, res) if cfg.binary else LinearInfer(t, f"{p}.{n}")
        self.qkv, self.proj, self.fc1, self.fc2 = lin["qkv"], lin["proj"], lin["fc1"], lin["fc2"]

    def forward(self, t: torch.Tensor, h: int, w: int) -> torch.Tensor:
        a = window_attention(self.qkv(F.layer_norm(t, [self.c], self.norm1_w, self.norm1_b)), h, w, self.heads,
                             self.window, self.shift, self.bias)
        t = t + self.proj(a)
        return t + self.fc2(F.gelu(self.fc1(F.layer_norm(t, [self.c], self.norm2_w, self.norm2_b))))


class GroupInfer(nn.Module):
    def __init__(self, cfg: SwinConfig, t: dict, g: int):
        super().__init__()
        self.layers = nn.ModuleList(SwinLayerInfer(cfg, t, layer_prefix(g, l), 0 if l % 2 == 0 else cfg.window // 2)
                                    for l in range(cfg.depth))
        p = f"groups.{g}.conv"
        self.conv = BinaryConvInfer(t, p, cfg.channels) if cfg.binary else ConvInfer(t, p)

    def forward(self, t: torch.Tensor, h: int, w: int) -> torch.Tensor:
        g_in = t
        for layer in self.layers:
            t = layer(t, h, w)
        n = t.shape[0]
        m = t.transpose(1, 2).reshape(n, -1, h, w)
        return self.conv(m).flatten(2).transpose(1, 2) + g_in


class SwinIRInfer(nn.Module):
    """(N, 3, h, w) RGB in [0, 1] -> (N, 3, s*h, s*w), unclamped."""

    def __init__(self, cfg: SwinConfig, t: dict):
        super().__init__()
        self.scale, self.window, self.c = cfg.scale, cfg.window, cfg.channels
        self.register_buffer("rgb_mean", _t(t["rgb_mean"]).view(1, 3, 1, 1))
        for n in ("conv_first", "conv_after_body", "up"):
            self.register_buffer(f"{n}_w", _t(t[f"{n}.weight"]))
            self.register_buffer(f"{n}_b", _t(t[f"{n}.bias"]))
        for n in ("embed_norm", "norm"):
            self.register_buffer(f"{n}_w", _t(t[f"{n}.weight"]))
            self.register_buffer(f"{n}_b", _t(t[f"{n}.bias"]))
        self.groups = nn.ModuleList(GroupInfer(cfg, t, g) for g in range(cfg.groups))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0, w0 = x.shape[-2], x.shape[-1]
        x = pad_to_window(x, self.window)
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        f0 = F.conv2d(x - self.rgb_mean, self.conv_first_w, self.conv_first_b, padding=1)
        t = F.layer_norm(f0.flatten(2).transpose(1, 2), [self.c], self.embed_norm_w, self.embed_norm_b)
        for grp in self.groups:
            t = grp(t, h, w)
        t = F.layer_norm(t, [self.c], self.norm_w, self.norm_b)
        f = F.conv2d(t.transpose(1, 2).reshape(n, -1, h, w), self.conv_after_body_w, self.conv_after_body_b,
                     padding=1) + f0
        out = F.pixel_shuffle(F.conv2d(f, self.up_w, self.up_b, padding=1), self.scale) + self.rgb_mean
        return out[:, :, : self.scale * h0, : self.scale * w0]
