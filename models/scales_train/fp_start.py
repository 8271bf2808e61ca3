"""FP networks as starting points and teachers for binary EDSR training.

An FP EDSR (variant "fp") is read from a training checkpoint (.pt) or from an FP model file
(.safetensors, docs/model-format.md). `init_binary_from_fp` copies it into a binary network of
the same size: every FP layer as it is (head, PReLUs, upsampler, tail), and each residual conv's FP
weight as the binary conv's latent weight, so the binary conv starts at sign(W_fp) * mean|W_fp|,
the closest binary layer to the FP one in the usual sense; the FP conv's bias has no binary
counterpart and is dropped. The SCALES parameters keep their start values.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .arch import config_from_dict
from .checkpoint import read_checkpoint
from .edsr import ModelConfig, ScalesEDSR
from .modelfile import read_model


def _fp_state_from_model_file(path: Path) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    cfg, t, _ = read_model(path)
    if not isinstance(cfg, ModelConfig) or cfg.binary:
        raise ValueError(f"{path}: not an FP EDSR model file")
    state = {"rgb_mean": t["rgb_mean"].reshape(1, 3, 1, 1)}
    for name in ("head", "tail"):
        state[f"{name}.weight"], state[f"{name}.bias"] = t[f"{name}.weight"], t[f"{name}.bias"]
    for j in range(len(ScalesEDSR(cfg).up)):
        state[f"up.{j}.weight"], state[f"up.{j}.bias"] = t[f"up.{j}.weight"], t[f"up.{j}.bias"]
    for i in range(cfg.blocks):
        for conv in ("conv1", "conv2"):
            state[f"blocks.{i}.{conv}.conv.weight"] = t[f"body.{i}.{conv}.weight"]
            state[f"blocks.{i}.{conv}.conv.bias"] = t[f"body.{i}.{conv}.bias"]
        state[f"blocks.{i}.act.weight"] = t[f"body.{i}.act.weight"]
    state["body_end.conv.weight"], state["body_end.conv.bias"] = t["body_end.weight"], t["body_end.bias"]
    return cfg, {k: torch.from_numpy(v.copy()) for k, v in state.items()}


def load_fp_edsr(path: str | Path) -> ScalesEDSR:
    """An FP EDSR network (eval mode) from a training checkpoint or an FP model file."""
    path = Path(path)
    if path.suffix == ".safetensors":
        cfg, state = _fp_state_from_model_file(path)
    else:
        ck = read_checkpoint(path)
        cfg, state = config_from_dict(ck["config"]), ck["model"]
        if not isinstance(cfg, ModelConfig) or cfg.binary:
            raise ValueError(f"{path}: not an FP EDSR checkpoint (config {ck['config']})")
    model = ScalesEDSR(cfg)
    model.load_state_dict(state)
    return model.eval()


def init_binary_from_fp(model: ScalesEDSR, fp: ScalesEDSR) -> list[str]:
    """Copy the FP twin `fp` into the binary `model` (module doc); returns the names copied."""
    a, b = model.cfg, fp.cfg
    if (a.scale, a.blocks, a.channels) != (b.scale, b.blocks, b.channels) or not a.binary or b.binary:
        raise ValueError(f"an FP start needs the binary network's FP twin: got x{b.scale} B{b.blocks} C{b.channels} "
                         f"{b.variant} for x{a.scale} B{a.blocks} C{a.channels} {a.variant}")
    src = fp.state_dict()
    dst = model.state_dict()
    copied = []
    with torch.no_grad():
        for name, t in dst.items():
            key = name.replace(".weight", ".conv.weight") if name.endswith("conv1.weight") or \
                name.endswith("conv2.weight") or name == "body_end.weight" else name
            if key in src and src[key].shape == t.shape:
                t.copy_(src[key])
                copied.append(name)
    return copied
