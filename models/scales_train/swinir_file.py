"""The model-file side of SCALES-SwinIR (docs/model-format.md, architecture "scales-swinir"):
tensor names and shapes, and the conversion from a trained network. Shared pieces (bit packing,
header checks) are in modelfile.py."""
from __future__ import annotations

import math

import numpy as np
import torch

from .binarize import hard_sign, weight_scale
from .layers import channel_hidden
from .swinir import ScalesBinaryLinear, ScalesSwinIR, SwinConfig, binary_linears

LINEARS = ("qkv", "proj", "fc1", "fc2")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float32).contiguous().numpy()


def layer_prefix(g: int, l: int) -> str:
    return f"groups.{g}.layers.{l}"


def network_tensors(model: ScalesSwinIR, pack_sign_bits, binary_conv_tensors) -> dict[str, np.ndarray]:
    cfg = model.cfg
    t: dict[str, np.ndarray] = {
        "rgb_mean": _np(model.rgb_mean.view(3)),
        "conv_first.weight": _np(model.conv_first.weight), "conv_first.bias": _np(model.conv_first.bias),
        "embed_norm.weight": _np(model.embed_norm.weight), "embed_norm.bias": _np(model.embed_norm.bias),
        "norm.weight": _np(model.norm.weight), "norm.bias": _np(model.norm.bias),
        "conv_after_body.weight": _np(model.conv_after_body.weight),
        "conv_after_body.bias": _np(model.conv_after_body.bias),
        "up.weight": _np(model.up.weight), "up.bias": _np(model.up.bias),
    }

    def linear(p: str, m) -> None:
        if not isinstance(m, ScalesBinaryLinear):
            t[f"{p}.weight"], t[f"{p}.bias"] = _np(m.weight), _np(m.bias)
            return
        o, i = m.weight.shape
        bits = pack_sign_bits(_np(hard_sign(m.weight)).reshape(o, i, 1, 1))
        t[f"{p}.weight_bits"] = np.ascontiguousarray(bits.reshape(o, -1))
        t[f"{p}.weight_scale"] = _np(weight_scale(m.weight))
        if m.shift is not None:
            t[f"{p}.shift"] = _np(m.shift)
        if m.alpha is not None:
            t[f"{p}.alpha"] = _np(m.alpha)
        if m.spatial is not None:
            t[f"{p}.spatial.weight"], t[f"{p}.spatial.bias"] = _np(m.spatial.weight), _np(m.spatial.bias)
        if m.fc1 is not None:
            t[f"{p}.channel.fc1.weight"], t[f"{p}.channel.fc1.bias"] = _np(m.fc1.weight), _np(m.fc1.bias)
            t[f"{p}.channel.fc2.weight"], t[f"{p}.channel.fc2.bias"] = _np(m.fc2.weight), _np(m.fc2.bias)

    for g, grp in enumerate(model.groups):
        for l, layer in enumerate(grp.layers):
            p = layer_prefix(g, l)
            for n in ("norm1", "norm2"):
                t[f"{p}.{n}.weight"], t[f"{p}.{n}.bias"] = _np(getattr(layer, n).weight), _np(getattr(layer, n).bias)
            t[f"{p}.attn.position_bias"] = _np(layer.position_bias())
            for n in LINEARS:
                linear(f"{p}.{n}", getattr(layer, n))
        if cfg.binary:
            t.update(binary_conv_tensors(f"groups.{g}.conv", grp.conv))
        else:
            t[f"groups.{g}.conv.weight"], t[f"groups.{g}.conv.bias"] = _np(grp.conv.weight), _np(grp.conv.bias)
    return t


def metadata(cfg: SwinConfig) -> dict[str, str]:
    return {
        "architecture": cfg.architecture, "variant": cfg.variant, "scale": str(cfg.scale),
        "channels": str(cfg.channels), "groups": str(cfg.groups), "depth": str(cfg.depth),
        "heads": str(cfg.heads), "window": str(cfg.window), "mlp_ratio": str(cfg.mlp_ratio),
        "binary": "1" if cfg.binary else "0", "components": ",".join(cfg.components),
        "linear_residual": cfg.linear_residual, "image_pad": "reflect-bottom-right", "pad_value": "+1", "bit_order": "lsb0",
    }


def config_from_metadata(meta: dict[str, str]) -> SwinConfig:
    return SwinConfig(scale=int(meta["scale"]), channels=int(meta["channels"]), groups=int(meta["groups"]),
                      depth=int(meta["depth"]), heads=int(meta["heads"]), window=int(meta["window"]),
                      mlp_ratio=int(meta["mlp_ratio"]), binary=meta["binary"] == "1",
                      components=[c for c in meta.get("components", "").split(",") if c],
                      linear_residual=meta.get("linear_residual", "matched"))


def expected_shapes(cfg: SwinConfig, binary_conv_shapes) -> dict[str, tuple[int, ...]]:
    c, n = cfg.channels, cfg.window * cfg.window
    s: dict[str, tuple[int, ...]] = {
        "rgb_mean": (3,), "conv_first.weight": (c, 3, 3, 3), "conv_first.bias": (c,),
        "embed_norm.weight": (c,), "embed_norm.bias": (c,), "norm.weight": (c,), "norm.bias": (c,),
        "conv_after_body.weight": (c, c, 3, 3), "conv_after_body.bias": (c,),
        "up.weight": (3 * cfg.scale ** 2, c, 3, 3), "up.bias": (3 * cfg.scale ** 2,),
    }
    comps = cfg.comps

    def linear(p: str, i: int, o: int) -> None:
        if not cfg.binary:
            s[f"{p}.weight"], s[f"{p}.bias"] = (o, i), (o,)
            return
        s[f"{p}.weight_bits"], s[f"{p}.weight_scale"] = (o, math.ceil(i / 64)), (o,)
        if comps.shift:
            s[f"{p}.shift"] = (i,)
        if comps.layer_scale:
            s[f"{p}.alpha"] = (1,)
        if comps.spatial:
            s[f"{p}.spatial.weight"], s[f"{p}.spatial.bias"] = (1, i), (1,)
        if comps.channel:
            h = channel_hidden(i)
            s[f"{p}.channel.fc1.weight"], s[f"{p}.channel.fc1.bias"] = (h, i), (h,)
            s[f"{p}.channel.fc2.weight"], s[f"{p}.channel.fc2.bias"] = (o, h), (o,)

    for g in range(cfg.groups):
        for l in range(cfg.depth):
            p = layer_prefix(g, l)
            for nm in ("norm1", "norm2"):
                s[f"{p}.{nm}.weight"], s[f"{p}.{nm}.bias"] = (c,), (c,)
            s[f"{p}.attn.position_bias"] = (cfg.heads, n, n)
            for nm, (i, o) in zip(LINEARS, binary_linears(cfg)):
                linear(f"{p}.{nm}", i, o)
        if cfg.binary:
            s.update(binary_conv_shapes(f"groups.{g}.conv", c, comps))
        else:
            s[f"groups.{g}.conv.weight"], s[f"groups.{g}.conv.bias"] = (c, c, 3, 3), (c,)
    return s
