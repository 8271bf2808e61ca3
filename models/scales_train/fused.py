"""The SCALES binary conv's training step as one autograd node with a hand-written backward.

Autograd over the layer's plain PyTorch form (layers.ScalesBinaryConv.forward_reference) makes a
dozen full-size elementwise passes forward and twice that backward, and each keeps a tensor alive:
on the CPU they cost more than the convolution (profile in docs/ablation.md, "Training speed").
This node computes the same function with the fewest passes PyTorch's eager ops allow:

    forward   u = x + shift                      (the derivative factor d is made in place over u)
              a = pad(sign(u), +1)               written straight into a +1-filled buffer
              y = conv3x3(a, wb)                 wb = sign(W), binarized outside (small)
              z = x + (y * gc) * s               gc (N, C) = alpha * k * channel factor, s (N, 1, H, W)
    backward  dzs = dz * s                       d gc[n, c] = sum_hw dzs * y
              d s[n, h, w] = sum_c dz * y * gc   dy = dzs * gc
              da, dwb = conv3x3 backward(dy)     du = da[inner] * d,  d = max(0, 2 - 2|u|)
              dx = dz + du                       d shift = sum_nhw du

The values are those of forward_reference up to float rounding order (checked by
tests/test_fused.py against autograd over the reference form).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _fmt(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous() else torch.contiguous_format


class _ScalesConvStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, shift, wb, gc, s):
        n, c, h, w = x.shape
        u = x + shift.view(1, -1, 1, 1) if shift is not None else x.clone()
        a = torch.empty((n, c, h + 2, w + 2), dtype=x.dtype, device=x.device, memory_format=_fmt(x))
        a.fill_(1.0)
        one = torch.ones((), dtype=x.dtype, device=x.device)
        a[:, :, 1:-1, 1:-1] = torch.where(u >= 0, one, -one)
        y = F.conv2d(a, wb)
        d = u.abs_().mul_(-2.0).add_(2.0).clamp_(min=0.0)  # ApproxSign's derivative, over u
        z = torch.addcmul(x, y * gc.view(n, c, 1, 1), s)
        ctx.save_for_backward(a, wb, gc, s, y, d)
        ctx.has_shift = shift is not None
        return z

    @staticmethod
    def backward(ctx, dz):
        a, wb, gc, s, y, d = ctx.saved_tensors
        n, c = gc.shape
        dzs = dz * s
        d_gc = (dzs * y).sum(dim=(2, 3))
        d_s = (torch.mul(dz, y).mul_(gc.view(n, c, 1, 1))).sum(dim=1, keepdim=True)
        dy = dzs.mul_(gc.view(n, c, 1, 1))
        # Under bf16 autocast the forward conv ran in bf16 (a and y are bf16): so does its backward.
        dy, wc = dy.to(a.dtype), wb.to(a.dtype)
        da, dwb, _ = torch.ops.aten.convolution_backward(
            dy, a, wc, None, (1, 1), (0, 0), (1, 1), False, (0, 0), 1, (True, True, False))
        du = da[:, :, 1:-1, 1:-1] * d
        d_shift = du.sum(dim=(0, 2, 3)).float() if ctx.has_shift else None
        dx = du.add_(dz)
        return dx, d_shift, dwb.to(wb.dtype), d_gc.to(gc.dtype), d_s.to(s.dtype)


def scales_conv_step(x: torch.Tensor, shift: torch.Tensor | None, wb: torch.Tensor, gc: torch.Tensor,
                     s: torch.Tensor) -> torch.Tensor:
    """z = x + conv3x3(pad(sign(x + shift), +1), wb) * gc[n, o] * s[n, 0, h, w] (see module doc)."""
    return _ScalesConvStep.apply(x, shift, wb, gc, s)
