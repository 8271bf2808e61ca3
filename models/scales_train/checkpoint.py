"""Training checkpoints (what a resumed run needs) and the facts about the CPU they record.

A checkpoint holds the latent weights (fp32), Adam's moments, the iteration, the sampler's and
torch's RNG states, the command's arguments, the Set5 history and the run's segments (each
stretch of training: iterations, seconds, threads, precision, CPU), from which model cards take
the total iterations and core-hours. Committed runs live in models/checkpoints/<run>/.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .arch import build, config_from_dict


def cpu_has_bf16() -> bool:
    """True where the CPU computes bf16 dot products natively (AVX512-BF16). Elsewhere oneDNN
    emulates bf16 and autocast is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags


def read_checkpoint(path) -> dict:
    """A training checkpoint as a dict. Checkpoints are this trainer's own (trusted) files; they hold
    plain Python floats, which PyTorch 1.13's weights_only unpickler cannot read, and PyTorch >= 2.6
    defaults to weights_only=True, so the flag is spelled out for both."""
    return torch.load(path, map_location="cpu", weights_only=False)


def load_checkpoint_model(path):
    """(config, network in eval mode) of a training checkpoint, either architecture."""
    ck = read_checkpoint(path)
    cfg = config_from_dict(ck["config"])
    model = build(cfg)
    model.load_state_dict(ck["model"])
    return cfg, model.eval()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def save_checkpoint(path: Path, model, opt, sampler, it: int, args, train_seconds: float, history: list,
                    segments: list) -> None:
    """Everything a resumed run needs, nothing more: the latent weights (fp32, contiguous), Adam's
    moments, the iteration, the sampler's and torch's RNG states. `segments` records each stretch of
    the run (iterations, seconds, threads, precision, CPU) for the model card's core-hours."""
    tmp = path.with_suffix(".tmp")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save({
        "config": model.cfg.to_dict(), "model": state, "optimizer": opt.state_dict(),
        "iteration": it, "sampler": sampler.state(), "torch_rng": torch.get_rng_state(),
        "args": vars(args), "train_seconds": train_seconds, "history": history, "segments": segments,
    }, tmp)
    os.replace(tmp, path)


def core_hours(segments: list) -> float:
    """CPU core-hours (wall time x threads) of the stretches that trained on the CPU."""
    return sum(sg["seconds"] * sg["threads"] for sg in segments if sg.get("device", "cpu") != "cuda") / 3600.0


def gpu_hours(segments: list) -> float:
    """GPU-hours (wall time) of the stretches that trained on a GPU (a device lease)."""
    return sum(sg["seconds"] for sg in segments if sg.get("device") == "cuda") / 3600.0
