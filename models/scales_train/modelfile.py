"""The SCALES-SR model file (safetensors): conversion from a trained network, bit packing, and
validation when reading. docs/model-format.md is the specification; this module implements it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from . import safetensors, swinir_file
from .binarize import hard_sign, weight_scale
from .edsr import ModelConfig, upsample_factors
from .layers import channel_hidden
from .swinir import ScalesSwinIR, SwinConfig

FORMAT = "scales-sr"
FORMAT_VERSION = "1"


def pack_sign_bits(sign_w: np.ndarray) -> np.ndarray:
    """(O, I, 3, 3) array of +-1 -> (O, 3, 3, ceil(I/64)) uint64.

    Bit j (LSB = 0) of word w holds input channel 64*w + j; a set bit means -1, a clear bit +1.
    Bits past the last input channel are 0 (read as +1 on both sides, they never mismatch).
    """
    o, i, kh, kw = sign_w.shape
    words = math.ceil(i / 64)
    neg = np.zeros((o, kh, kw, words * 64), dtype=np.uint64)
    neg[..., :i] = (np.transpose(sign_w, (0, 2, 3, 1)) < 0)
    neg = neg.reshape(o, kh, kw, words, 64)
    shifts = np.arange(64, dtype=np.uint64)
    return np.bitwise_or.reduce(neg << shifts, axis=-1)


def unpack_sign_bits(bits: np.ndarray, in_channels: int) -> np.ndarray:
    """Inverse of pack_sign_bits: (O, 3, 3, W) uint64 -> (O, I, 3, 3) float32 of +-1."""
    o, kh, kw, words = bits.shape
    shifts = np.arange(64, dtype=np.uint64)
    b = (bits[..., None] >> shifts) & np.uint64(1)
    b = b.reshape(o, kh, kw, words * 64)[..., :in_channels]
    return np.where(b == 1, -1.0, 1.0).astype(np.float32).transpose(0, 3, 1, 2).copy()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float32).contiguous().numpy()


def binary_conv_tensors(prefix: str, m) -> dict[str, np.ndarray]:
    """A SCALES binary 3x3 conv (layers.ScalesBinaryConv) as model-file tensors."""
    t = {f"{prefix}.weight_bits": pack_sign_bits(_np(hard_sign(m.weight))),
         f"{prefix}.weight_scale": _np(weight_scale(m.weight))}
    if m.shift is not None:
        t[f"{prefix}.shift"] = _np(m.shift)
    if m.alpha is not None:
        t[f"{prefix}.alpha"] = _np(m.alpha)
    if m.spatial is not None:
        t[f"{prefix}.spatial.weight"] = _np(m.spatial.weight.view(1, -1))
        t[f"{prefix}.spatial.bias"] = _np(m.spatial.bias)
    if m.fc1 is not None:
        t[f"{prefix}.channel.fc1.weight"] = _np(m.fc1.weight)
        t[f"{prefix}.channel.fc1.bias"] = _np(m.fc1.bias)
        t[f"{prefix}.channel.fc2.weight"] = _np(m.fc2.weight)
        t[f"{prefix}.channel.fc2.bias"] = _np(m.fc2.bias)
    return t


def binary_conv_shapes(p: str, c: int, comps) -> dict[str, tuple[int, ...]]:
    s: dict[str, tuple[int, ...]] = {f"{p}.weight_bits": (c, 3, 3, math.ceil(c / 64)), f"{p}.weight_scale": (c,)}
    h = channel_hidden(c)
    if comps.shift:
        s[f"{p}.shift"] = (c,)
    if comps.layer_scale:
        s[f"{p}.alpha"] = (1,)
    if comps.spatial:
        s[f"{p}.spatial.weight"] = (1, c)
        s[f"{p}.spatial.bias"] = (1,)
    if comps.channel:
        s[f"{p}.channel.fc1.weight"] = (h, c)
        s[f"{p}.channel.fc1.bias"] = (h,)
        s[f"{p}.channel.fc2.weight"] = (c, h)
        s[f"{p}.channel.fc2.bias"] = (c,)
    return s


def network_tensors(model) -> dict[str, np.ndarray]:
    """The model file's tensors for a trained network (names: docs/model-format.md)."""
    if isinstance(model, ScalesSwinIR):
        return swinir_file.network_tensors(model, pack_sign_bits, binary_conv_tensors)
    cfg = model.cfg
    t: dict[str, np.ndarray] = {
        "rgb_mean": _np(model.rgb_mean.view(3)),
        "head.weight": _np(model.head.weight), "head.bias": _np(model.head.bias),
        "tail.weight": _np(model.tail.weight), "tail.bias": _np(model.tail.bias),
    }
    for j, conv in enumerate(model.up):
        t[f"up.{j}.weight"] = _np(conv.weight)
        t[f"up.{j}.bias"] = _np(conv.bias)

    def res_conv(prefix: str, m) -> None:
        if not cfg.binary:
            t[f"{prefix}.weight"] = _np(m.conv.weight)
            t[f"{prefix}.bias"] = _np(m.conv.bias)
            return
        t.update(binary_conv_tensors(prefix, m))

    for i, blk in enumerate(model.blocks):
        res_conv(f"body.{i}.conv1", blk.conv1)
        t[f"body.{i}.act.weight"] = _np(blk.act.weight)
        res_conv(f"body.{i}.conv2", blk.conv2)
    res_conv("body_end", model.body_end)
    return t


def metadata(cfg, extra: dict[str, str] | None = None) -> dict[str, str]:
    m = {"format": FORMAT, "format_version": FORMAT_VERSION}
    if isinstance(cfg, SwinConfig):
        m.update(swinir_file.metadata(cfg))
    else:
        m.update({
            "architecture": cfg.architecture, "variant": cfg.variant,
            "scale": str(cfg.scale), "blocks": str(cfg.blocks), "channels": str(cfg.channels),
            "binary": "1" if cfg.binary else "0",
            "components": ",".join(cfg.components),
            "channel_hidden": str(channel_hidden(cfg.channels)),
            "pad_value": "+1",
            "bit_order": "lsb0",
        })
    m.update(extra or {})
    return m


def save_model(path: str | Path, model, extra_meta: dict[str, str] | None = None) -> None:
    safetensors.save(path, network_tensors(model), metadata(model.cfg, extra_meta))


def expected_shapes(cfg) -> dict[str, tuple[int, ...]]:
    """Every tensor the file must hold for this configuration, with its shape."""
    if isinstance(cfg, SwinConfig):
        return swinir_file.expected_shapes(cfg, binary_conv_shapes)
    c = cfg.channels
    s: dict[str, tuple[int, ...]] = {
        "rgb_mean": (3,), "head.weight": (c, 3, 3, 3), "head.bias": (c,),
        "tail.weight": (3, c, 3, 3), "tail.bias": (3,),
    }
    for j, r in enumerate(upsample_factors(cfg.scale)):
        s[f"up.{j}.weight"] = (r * r * c, c, 3, 3)
        s[f"up.{j}.bias"] = (r * r * c,)

    def res_conv(p: str) -> None:
        if not cfg.binary:
            s[f"{p}.weight"] = (c, c, 3, 3)
            s[f"{p}.bias"] = (c,)
            return
        s.update(binary_conv_shapes(p, c, cfg.comps))

    for i in range(cfg.blocks):
        res_conv(f"body.{i}.conv1")
        s[f"body.{i}.act.weight"] = (c,)
        res_conv(f"body.{i}.conv2")
    res_conv("body_end")
    return s


def read_model(path: str | Path) -> tuple[ModelConfig, dict[str, np.ndarray], dict[str, str]]:
    """Load and validate a model file: returns (config, tensors, metadata)."""
    tensors, meta = safetensors.load(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a SCALES-SR model file (metadata format={meta.get('format')!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported format_version {meta.get('format_version')!r} "
                         f"(this reader knows {FORMAT_VERSION})")
    arch = meta.get("architecture")
    if arch not in ("scales-edsr", "scales-swinir"):
        raise ValueError(f"{path}: unsupported architecture {arch!r}")
    try:
        if arch == "scales-swinir":
            cfg = swinir_file.config_from_metadata(meta)
        else:
            cfg = ModelConfig(scale=int(meta["scale"]), blocks=int(meta["blocks"]), channels=int(meta["channels"]),
                              binary=meta["binary"] == "1",
                              components=[c for c in meta.get("components", "").split(",") if c])
    except (KeyError, ValueError) as e:
        raise ValueError(f"{path}: bad metadata: {e}") from None
    want = expected_shapes(cfg)
    # Optional: an FP conv's int8 calibration (scales_train.calibrate), C_in floats.
    for name, shape in list(want.items()):
        p = name[: -len(".weight")]
        if name.endswith(".weight") and len(shape) == 4 and p + ".input_absmax" in tensors:
            want[p + ".input_absmax"] = (shape[1],)
    missing = sorted(set(want) - set(tensors))
    extra = sorted(set(tensors) - set(want))
    if missing or extra:
        raise ValueError(f"{path}: tensors do not match the metadata: missing {missing}, unexpected {extra}")
    for name, shape in want.items():
        if tuple(tensors[name].shape) != shape:
            raise ValueError(f"{path}: tensor {name} has shape {tuple(tensors[name].shape)}, expected {shape}")
        want_dtype = np.uint64 if name.endswith("weight_bits") else np.float32
        if tensors[name].dtype != want_dtype:
            raise ValueError(f"{path}: tensor {name} has dtype {tensors[name].dtype}, expected {np.dtype(want_dtype)}")
    return cfg, tensors, meta
