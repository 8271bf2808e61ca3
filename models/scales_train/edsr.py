"""SCALES-EDSR, its FP twin and the plain-BNN baseline (one class, three configurations).

    x in [0, 1] (N, 3, h, w)
    x - rgb_mean                                   RGB mean shift (EDSR)
    f0 = head(x)                                   FP conv3x3 3 -> C
    block i (B times):  t = prelu(R1(f));  f = R2(t)
    f = R_end(f) + f0                              body-end conv, global residual
    up: [conv3x3 C -> r*r*C, pixel_shuffle(r)]     r = 2 (x2), 3 (x3), 2 then 2 (x4); FP
    out = tail(f) + rgb_mean                       FP conv3x3 C -> 3

R* are ScalesBinaryConv (binary models: SCALES with any subset of its components, the plain BNN
being the empty subset) or FPResidualConv (the FP twin, variant "fp").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from .layers import (Components, FPResidualConv, ScalesBinaryConv, VariantConfig, channel_hidden, parse_variant,
                     pixel_shuffle)

RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K mean, as in EDSR
SCALES = (2, 3, 4)


@dataclass
class ModelConfig(VariantConfig):
    scale: int = 2
    blocks: int = 4
    channels: int = 32
    binary: bool = True
    components: list[str] = field(default_factory=lambda: ["shift", "layer_scale", "spatial", "channel"])
    architecture: str = "scales-edsr"

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"scale {self.scale} not supported (use one of {SCALES})")
        if self.blocks < 0 or self.channels < 1:
            raise ValueError(f"bad model size: blocks={self.blocks}, channels={self.channels}")
        Components.parse(",".join(self.components) or "none")  # validates names

    @staticmethod
    def from_variant(variant: str, scale: int, blocks: int, channels: int) -> "ModelConfig":
        """'fp', 'plain', 'scales', or 'plain+shift+spatial'-style subsets."""
        binary, comps = parse_variant(variant)
        return ModelConfig(scale, blocks, channels, binary=binary, components=comps)


def upsample_factors(scale: int) -> list[int]:
    return [2, 2] if scale == 4 else [scale]


class ScalesEDSR(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.register_buffer("rgb_mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1))
        self.head = nn.Conv2d(3, c, 3, padding=1)

        def res_conv():
            return ScalesBinaryConv(c, cfg.comps) if cfg.binary else FPResidualConv(c)

        self.blocks = nn.ModuleList()
        for _ in range(cfg.blocks):
            blk = nn.Module()
            blk.conv1 = res_conv()
            blk.act = nn.PReLU(c, init=0.25)
            blk.conv2 = res_conv()
            self.blocks.append(blk)
        self.body_end = res_conv()
        self.up = nn.ModuleList(nn.Conv2d(c, r * r * c, 3, padding=1) for r in upsample_factors(cfg.scale))
        self.tail = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f0 = self.head(x - self.rgb_mean)
        f = f0
        for blk in self.blocks:
            f = blk.conv2(blk.act(blk.conv1(f)))
        f = self.body_end(f) + f0
        for conv, r in zip(self.up, upsample_factors(self.cfg.scale)):
            f = pixel_shuffle(conv(f), r)
        return self.tail(f) + self.rgb_mean


def count_params_ops(cfg: ModelConfig, h: int = 180, w: int = 320) -> dict:
    """Parameters and operations of one forward pass on an h x w LR input (default 320x180).

    Binary conv weights count as binary params (reported /32 as FP-equivalents) and their MACs as
    BOPs (reported /64 as FLOP-equivalents, the BNN literature's convention). Everything else is FP:
    FLOPs count multiply-adds as one op (MACs), as SR papers report "Multi-Adds".
    """
    model = ScalesEDSR(cfg)
    binary = {id(m.weight) for m in model.modules() if isinstance(m, ScalesBinaryConv)}
    bin_params = sum(p.numel() for p in model.parameters() if id(p) in binary)
    fp_params = sum(p.numel() for p in model.parameters() if id(p) not in binary)
    c = cfg.channels
    hw = h * w
    n_res = 2 * cfg.blocks + 1
    conv_macs = hw * c * c * 9
    bops = n_res * conv_macs if cfg.binary else 0
    flops = hw * 3 * c * 9  # head
    if not cfg.binary:
        flops += n_res * conv_macs
    else:
        comps = cfg.comps
        per = hw * c  # residual add + epilogue multiply
        if comps.shift:
            per += hw * c
        if comps.spatial:
            per += hw * c  # 1x1 conv C->1
        if comps.channel:
            per += hw * c + 2 * c * channel_hidden(c)
        flops += n_res * per
    area = hw
    for r in upsample_factors(cfg.scale):
        flops += area * c * r * r * c * 9
        area *= r * r
    flops += area * c * 3 * 9  # tail
    return {
        "binary_params": bin_params, "fp_params": fp_params,
        "params_equiv": fp_params + bin_params / 32.0,
        "bops": bops, "flops": flops, "ops_equiv": flops + bops / 64.0,
        "input": f"{w}x{h}",
    }
