"""The building blocks shared by the inference networks of both architectures (inference.py for
EDSR, swinir_infer.py for SwinIR): tensors from a model file, the SCALES parameters and the binary
3x3 conv in eval form."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

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
