"""Binarizers with their training-time gradients.

Forward values are exact +-1 (sign(0) = +1, so that a zero bit in the packed format always means +1).
  * activations: backward is the ApproxSign / Bi-Real piecewise-polynomial derivative,
    d sign(u)/du ~= 2 - 2|u| for |u| < 1, else 0;
  * weights: backward is straight-through, clipped to |W| <= 1.
The per-output-channel weight scale mean|W| is applied outside (see layers.py), detached.
"""
from __future__ import annotations

import torch


def hard_sign(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0 (zero included), -1 elsewhere; same dtype as x."""
    one = torch.ones((), dtype=x.dtype, device=x.device)
    return torch.where(x >= 0, one, -one)


class _ApproxSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return hard_sign(u)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        au = u.abs()
        return grad * torch.clamp(2.0 - 2.0 * au, min=0.0)


class _WeightSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return hard_sign(w)

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return grad * (w.abs() <= 1.0).to(grad.dtype)


def sign_activation(u: torch.Tensor) -> torch.Tensor:
    return _ApproxSign.apply(u)


def sign_weight(w: torch.Tensor) -> torch.Tensor:
    return _WeightSign.apply(w)


def weight_scale(w: torch.Tensor) -> torch.Tensor:
    """Per-output-channel mean |W| over (in, kh, kw), detached: shape (out,)."""
    return w.detach().abs().mean(dim=tuple(range(1, w.dim())))
