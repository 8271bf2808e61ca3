"""The SCALES binary 3x3 convolution (training form) and its FP counterpart.

For an FP input x (N, C, H, W) a SCALES binary conv computes

    u = x + beta                         channel-wise shift (beta per input channel)    [shift]
    a = sign(u)                          +-1, sign(0) = +1
    y = conv3x3(pad(a, +1), sign(W))     exact integers in [-9C, 9C]
    g = alpha * k                        k[o] = mean|W[o]| (detached), alpha scalar     [layer_scale]
      * s(h, w)                          s = sigmoid(conv1x1(x)) : C -> 1, per pixel     [spatial]
      * c(o)                             c = sigmoid(fc2(relu(fc1(mean_hw(x))))), per    [channel]
                                             output channel, per image
    z = x + y * g                        full-precision residual

Components switched off drop out of the product (alpha = 1, s = 1, c = 1, beta = 0); the weight
scale k is always there. Padding is +1 on the binarized activations: a packed kernel stores +1 as
bit 0, so out-of-image taps read a zero word and inference needs no border correction.

The multiplication order above (y * g with g built left to right) is the order the exporter's
inference module and the C++ engine follow; see docs/model-format.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .binarize import sign_activation, sign_weight, weight_scale
from .fused import scales_conv_step

PAD_VALUE = 1.0  # binarized activations are padded with +1 (bit 0)

# In training mode ScalesBinaryConv runs the one-node step of fused.py (same function, fewer passes,
# another rounding order) unless this is False, which restores autograd over forward_reference
# (kept for the speed A/B and tests). In eval mode it always runs forward_reference, whose order the
# exporter's inference module and the engine follow bit for bit.
FUSED = True


def set_fused(enabled: bool) -> None:
    global FUSED
    FUSED = bool(enabled)

COMPONENTS = ("shift", "layer_scale", "spatial", "channel")


@dataclass(frozen=True)
class Components:
    shift: bool = True
    layer_scale: bool = True
    spatial: bool = True
    channel: bool = True

    @staticmethod
    def parse(text: str) -> "Components":
        """'all', 'none' or a comma list of COMPONENTS."""
        text = text.strip()
        if text == "all":
            return Components()
        if text in ("none", ""):
            return Components(False, False, False, False)
        names = [t.strip() for t in text.split(",") if t.strip()]
        bad = [n for n in names if n not in COMPONENTS]
        if bad:
            raise ValueError(f"unknown SCALES component(s) {bad}; known: {', '.join(COMPONENTS)}")
        return Components(*(n in names for n in COMPONENTS))

    def names(self) -> list[str]:
        return [n for n in COMPONENTS if getattr(self, n)]


class VariantConfig:
    """The binary/variant part every architecture's config shares (fields `binary`, `components`)."""

    @property
    def comps(self) -> Components:
        return Components.parse(",".join(self.components) or "none")

    @property
    def variant(self) -> str:
        if not self.binary:
            return "fp"
        names = self.comps.names()
        if len(names) == 4:
            return "scales"
        return "plain" if not names else "plain+" + "+".join(names)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_variant(variant: str) -> tuple[bool, list[str]]:
    """'fp', 'plain', 'scales', or 'plain+shift+spatial'-style subsets -> (binary, components)."""
    if variant == "fp":
        return False, []
    if variant == "scales":
        return True, list(COMPONENTS)
    if variant == "plain" or variant.startswith("plain+"):
        return True, Components.parse(",".join(variant.split("+")[1:]) or "none").names()
    raise ValueError(f"unknown variant {variant!r}: use fp, plain, scales or plain+<component>[+...]")


def pixel_shuffle(t: torch.Tensor, r: int) -> torch.Tensor:
    """F.pixel_shuffle, computed through the NHWC view when t is channels_last (training's layout):
    PyTorch 1.13's own kernel and its backward take 36 ms + 15 ms there per 16x128x48x48 batch,
    this permute-reshape about 8 ms for both. Output channel o at (h*r+i, w*r+j) is input channel
    o*r*r + i*r + j at (h, w), as in F.pixel_shuffle."""
    if not (t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()):
        return F.pixel_shuffle(t, r)
    n, c, h, w = t.shape
    co = c // (r * r)
    v = t.permute(0, 2, 3, 1).reshape(n, h, w, co, r, r).permute(0, 1, 4, 2, 5, 3)
    return v.reshape(n, h * r, w * r, co).permute(0, 3, 1, 2)


def channel_hidden(channels: int) -> int:
    """Bottleneck width of the channel re-scaling branch."""
    return max(4, channels // 8)


def add_scales_params(m: nn.Module, cin: int, cout: int, comps: Components, spatial: nn.Module | None) -> None:
    """The SCALES parameters of a binary layer with cin inputs and cout outputs, on m: shift (per
    input channel), alpha (layer scale), the spatial branch `spatial` (cin -> 1, given by the layer:
    a 1x1 conv or a linear) and the channel branch fc1 (cin -> hidden), fc2 (hidden -> cout).
    The branches start at zero (sigmoid(0) = 0.5); each is None when its component is off."""
    m.shift = nn.Parameter(torch.zeros(cin)) if comps.shift else None
    m.alpha = nn.Parameter(torch.ones(1)) if comps.layer_scale else None
    m.spatial = spatial if comps.spatial else None
    if m.spatial is not None:
        nn.init.zeros_(m.spatial.weight)
        nn.init.zeros_(m.spatial.bias)
    if comps.channel:
        h = channel_hidden(cin)
        m.fc1 = nn.Linear(cin, h)
        m.fc2 = nn.Linear(h, cout)
        nn.init.zeros_(m.fc2.weight)
        nn.init.zeros_(m.fc2.bias)
    else:
        m.fc1 = m.fc2 = None


class ScalesBinaryConv(nn.Module):
    def __init__(self, channels: int, comps: Components):
        super().__init__()
        c = channels
        self.comps = comps
        self.weight = nn.Parameter(torch.empty(c, c, 3, 3))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        add_scales_params(self, c, c, comps, nn.Conv2d(c, 1, 1) if comps.spatial else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (FUSED and self.training):  # eval: the formula's own order, which export and engine match
            return self.forward_reference(x)
        n, c = x.shape[:2]
        k = weight_scale(self.weight)
        gc = (self.alpha * k if self.alpha is not None else k).view(1, -1).expand(n, -1)
        if self.fc1 is not None:
            gc = gc * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        s = torch.sigmoid(self.spatial(x)) if self.spatial is not None else x.new_ones((n, 1) + x.shape[2:])
        return scales_conv_step(x, self.shift, sign_weight(self.weight), gc.contiguous(), s)

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """The layer in plain PyTorch ops (the module doc's formula, in its order)."""
        u = x + self.shift.view(1, -1, 1, 1) if self.shift is not None else x
        a = F.pad(sign_activation(u), (1, 1, 1, 1), value=PAD_VALUE)
        y = F.conv2d(a, sign_weight(self.weight))
        k = weight_scale(self.weight)
        g = (self.alpha * k if self.alpha is not None else k).view(1, -1, 1, 1)
        if self.spatial is not None:
            g = g * torch.sigmoid(self.spatial(x))
        if self.fc1 is not None:
            m = x.mean(dim=(2, 3))
            c = torch.sigmoid(self.fc2(F.relu(self.fc1(m))))
            g = g * c.view(c.shape[0], -1, 1, 1)
        return x + y * g


class FPResidualConv(nn.Module):
    """The FP twin of ScalesBinaryConv: z = x + conv3x3(x) (zero padding, with bias)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)
