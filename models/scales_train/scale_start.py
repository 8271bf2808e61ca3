"""A network at one scale started from the same network trained at another.

EDSR's head, residual body, body-end conv and tail see LR-resolution (or, for the tail, HR)
features whose statistics hardly depend on the scale; only the pixel-shuffle upsampler's shape
does (SwinIR alike: everything but its pixel-shuffle-direct `up` conv). Starting a x3 network from a trained x2 one therefore reuses almost all of the work already
spent, which is what the EDSR paper did for its x3/x4 models. `init_from_other_scale` copies every
tensor whose name and shape match, latent binary weights and SCALES parameters included, and
leaves the upsampler at its fresh initialisation. The source is a training checkpoint (.pt): model
files keep only the signs of binary weights, not the latent weights a run continues from.

At the same scale every tensor is copied, the upsampler included: a warm restart, a new run (fresh
Adam moments, a new warm-up and cosine schedule) from a finished one's weights, which goes on
improving a model whose schedule has ended without retraining it from scratch.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .arch import config_from_dict
from .checkpoint import core_hours, gpu_hours, read_checkpoint


def work_behind(ck: dict) -> tuple[int, float, float]:
    """(iterations, CPU core-hours, GPU-hours) behind a training checkpoint: its own, plus those of
    the run it was started from (--init-scale-from), which that run counted the same way, so a chain
    of starts (x2 -> x3 -> a warm restart) adds up."""
    args = ck.get("args", {})
    start_it, start_hours = args.get("start_iterations"), args.get("start_core_hours")
    if (start_it is None or start_hours is None) and args.get("init_scale_from"):
        # A checkpoint from before the counts were carried: its start's own checkpoint.
        src = Path(args["init_scale_from"])
        if not src.is_file():
            raise ValueError(f"the run started from {src}, which is gone: its iterations and core-hours are unknown")
        start_it, start_hours, start_gpu = work_behind(read_checkpoint(src))
    else:
        start_gpu = args.get("start_gpu_hours")
    segments = ck.get("segments", [])
    return (int(ck["iteration"]) + int(start_it or 0), core_hours(segments) + float(start_hours or 0.0),
            gpu_hours(segments) + float(start_gpu or 0.0))


def load_checkpoint_state(path: str | Path) -> tuple[object, dict[str, torch.Tensor], int, float, float]:
    """(config, model state, iterations, core-hours, GPU-hours) of a training checkpoint; the counts are all the
    work behind it (work_behind)."""
    ck = read_checkpoint(Path(path))
    return (config_from_dict(ck["config"]), ck["model"], *work_behind(ck))


def init_from_other_scale(model: torch.nn.Module, src_cfg, src: dict[str, torch.Tensor]) -> list[str]:
    """Copy `src` (the same network in every setting but the scale) into `model` (an EDSR or SwinIR
    network with its .cfg); returns the names copied."""
    a, b = model.cfg.to_dict(), src_cfg.to_dict()
    differ = sorted(k for k in set(a) | set(b) if k != "scale" and a.get(k) != b.get(k))
    if differ:
        raise ValueError("a start from another scale needs the same network: "
                         + ", ".join(f"{k} {b.get(k)} for {a.get(k)}" for k in differ))
    dst = model.state_dict()
    copied = []
    with torch.no_grad():
        for name, t in dst.items():
            if (name.startswith("up.") and a["scale"] != b["scale"]) or name not in src or src[name].shape != t.shape:
                continue
            t.copy_(src[name])
            copied.append(name)
    return copied
