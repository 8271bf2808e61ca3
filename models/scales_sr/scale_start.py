"""A network at one scale started from the same network trained at another.

EDSR's head, residual body, body-end conv and tail see LR-resolution (or, for the tail, HR)
features whose statistics hardly depend on the scale; only the pixel-shuffle upsampler's shape
does. Starting a x3 network from a trained x2 one therefore reuses almost all of the work already
spent, which is what the EDSR paper did for its x3/x4 models. `init_from_other_scale` copies every
tensor whose name and shape match, latent binary weights and SCALES parameters included, and
leaves the upsampler at its fresh initialisation. The source is a training checkpoint (.pt): model
files keep only the signs of binary weights, not the latent weights a run continues from.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .arch import config_from_dict
from .checkpoint import core_hours, read_checkpoint
from .edsr import ModelConfig, ScalesEDSR


def load_checkpoint_state(path: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor], int, float]:
    """(config, model state, iteration, core-hours) of an EDSR training checkpoint."""
    ck = read_checkpoint(Path(path))
    cfg = config_from_dict(ck["config"])
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f"{path}: not an EDSR checkpoint (config {ck['config']})")
    return cfg, ck["model"], int(ck["iteration"]), core_hours(ck.get("segments", []))


def init_from_other_scale(model: ScalesEDSR, src_cfg: ModelConfig, src: dict[str, torch.Tensor]) -> list[str]:
    """Copy `src` (same variant, blocks and channels, any scale) into `model`; returns the names copied."""
    a = model.cfg
    if (a.variant, a.blocks, a.channels) != (src_cfg.variant, src_cfg.blocks, src_cfg.channels):
        raise ValueError(f"a start from another scale needs the same network: got {src_cfg.variant} "
                         f"B{src_cfg.blocks} C{src_cfg.channels} for {a.variant} B{a.blocks} C{a.channels}")
    dst = model.state_dict()
    copied = []
    with torch.no_grad():
        for name, t in dst.items():
            if name.startswith("up.") or name not in src or src[name].shape != t.shape:
                continue
            t.copy_(src[name])
            copied.append(name)
    return copied
