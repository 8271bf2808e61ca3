"""Distillation from an FP EDSR teacher: an output loss plus a per-block feature loss.

    loss = L1(student, HR) + w_out * L1(student, teacher) + w_feat * mean_i L1(s_i, t_m(i))

s_i is the output of the student's residual block i, t_j the teacher's; block i of B_s is matched
with teacher block m(i) = round((i + 1) * B_t / B_s) - 1 (the same depth fraction), and the two
must have the same width. The teacher runs without gradients (bf16 where the student does), so a
step costs one teacher forward more.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class BlockOutputs:
    """Records each residual block's output on every forward of an EDSR (hooks on conv2)."""

    def __init__(self, model: nn.Module):
        self.outputs: list[torch.Tensor] = []
        self._hooks = [blk.conv2.register_forward_hook(self._keep) for blk in model.blocks]

    def _keep(self, _module, _inputs, out) -> None:
        self.outputs.append(out)

    def take(self) -> list[torch.Tensor]:
        out, self.outputs = self.outputs, []
        return out


class Distiller:
    def __init__(self, student: nn.Module, teacher: nn.Module, w_out: float, w_feat: float):
        s, t = student.cfg, teacher.cfg
        if s.scale != t.scale:
            raise ValueError(f"teacher is x{t.scale}, student x{s.scale}")
        if w_feat and (s.channels != t.channels or not s.blocks or not t.blocks):
            raise ValueError(f"a feature loss needs the same width: student C{s.channels}, teacher C{t.channels}")
        self.teacher, self.w_out, self.w_feat = teacher.eval(), w_out, w_feat
        for p in teacher.parameters():
            p.requires_grad_(False)
        self.pairs = [(i, round((i + 1) * t.blocks / s.blocks) - 1) for i in range(s.blocks)]
        self.s_blocks = BlockOutputs(student) if w_feat else None
        self.t_blocks = BlockOutputs(teacher) if w_feat else None

    def loss(self, x: torch.Tensor, out: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """The distillation loss of a student forward (out = student(x), just run) on batch (x, hr)."""
        with torch.no_grad():
            t_out = self.teacher(x)
        loss = F.l1_loss(out.float(), hr)
        if self.w_out:
            loss = loss + self.w_out * F.l1_loss(out.float(), t_out.float())
        if self.w_feat:
            sf, tf = self.s_blocks.take(), self.t_blocks.take()
            feat = sum(F.l1_loss(sf[i].float(), tf[j].float()) for i, j in self.pairs) / len(self.pairs)
            loss = loss + self.w_feat * feat
        return loss

    def clear(self) -> None:
        """Drop block outputs recorded outside `loss` (validation forwards)."""
        for rec in (self.s_blocks, self.t_blocks):
            if rec is not None:
                rec.take()
