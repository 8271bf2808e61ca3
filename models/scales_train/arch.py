"""The architectures by name: configuration from a dict (checkpoints) and network construction."""
from __future__ import annotations

import torch.nn as nn

from .edsr import ModelConfig, ScalesEDSR
from .swinir import ScalesSwinIR, SwinConfig

ARCHITECTURES = ("edsr", "swinir")


def config_from_dict(d: dict):
    """A training checkpoint's config dict -> ModelConfig or SwinConfig (by its 'architecture')."""
    if d.get("architecture") == "scales-swinir":
        return SwinConfig(**d)
    return ModelConfig(**d)


def build(cfg) -> nn.Module:
    return ScalesSwinIR(cfg) if isinstance(cfg, SwinConfig) else ScalesEDSR(cfg)


def describe(cfg) -> str:
    if isinstance(cfg, SwinConfig):
        return (f"SwinIR {cfg.variant} x{cfg.scale} C{cfg.channels} G{cfg.groups}x{cfg.depth} "
                f"heads {cfg.heads} window {cfg.window}")
    return f"EDSR {cfg.variant} x{cfg.scale} B{cfg.blocks} C{cfg.channels}"
