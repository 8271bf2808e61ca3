"""MATLAB-compatible bicubic resize (``imresize(I, scale, 'bicubic')``, antialiased when shrinking).

This is the only way the project makes LR inputs, so its output must match the official
``LR_bicubic`` files of the benchmark sets (checked in tests/test_bicubic.py).

How MATLAB does it, and so how we do it:
  * Cubic kernel with a = -0.5.  When shrinking by ``scale < 1`` the kernel is stretched
    (h(x) = scale * cubic(scale * x), support 4/scale): that is the antialiasing.
  * Output pixel i (1-based) samples input coordinate u = i/scale + 0.5 * (1 - 1/scale).
  * Taps falling outside the image are mirrored (symmetric padding, edge pixel repeated).
  * Weights per output pixel are normalised to sum to 1.
  * The two dimensions are resized one after the other, rows (height) first when both scales are
    equal, and for uint8 input the intermediate result is rounded back to uint8, as MATLAB's
    resizeAlongDim does; the final result is rounded half away from zero and clipped to [0, 255].

Each pass is a dense (out x in) matrix, so the same weights work in numpy and in torch (training
makes LR patches on the device with two matrix products).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1.0)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1.0) & (ax <= 2.0)))


@lru_cache(maxsize=256)
def resize_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Dense (out_len, in_len) float64 matrix M with ``out = M @ in`` along one dimension."""
    if in_len < 1 or out_len < 1:
        raise ValueError(f"resize of a dimension {in_len} -> {out_len}: both must be >= 1")
    kernel_width = 4.0
    if scale < 1.0:
        kernel_width /= scale
    i = np.arange(1, out_len + 1, dtype=np.float64)
    u = i / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]   # 1-based input index
    dist = u[:, None] - idx
    w = scale * _cubic(scale * dist) if scale < 1.0 else _cubic(dist)
    w = w / w.sum(axis=1, keepdims=True)
    # Mirror out-of-range indices: 1..n, n..1 repeated.
    period = 2 * in_len
    j = np.mod(idx.astype(np.int64) - 1, period)
    j = np.where(j < in_len, j, period - 1 - j)
    m = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), taps)
    np.add.at(m, (rows, j.reshape(-1)), w.reshape(-1))
    return m


def _round_u8(x: np.ndarray) -> np.ndarray:
    # MATLAB's uint8 conversion: round half away from zero (values are >= 0 after clipping).
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)


def imresize(img: np.ndarray, scale: float | None = None, out_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Resize an HxW or HxWxC image like MATLAB.

    ``scale`` gives the output size as ceil(in * scale) (MATLAB's rule); ``out_hw`` sets it
    explicitly (then the sampling scale is still ``scale`` if given, else out/in per dimension).
    uint8 in -> uint8 out (rounded between and after passes); float in -> float64 out, unrounded.
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects HxW or HxWxC, got shape {img.shape}")
    h, w = img.shape[:2]
    if out_hw is None:
        if scale is None:
            raise ValueError("imresize needs scale or out_hw")
        out_hw = (int(math.ceil(h * scale)), int(math.ceil(w * scale)))
    oh, ow = out_hw
    sh = scale if scale is not None else oh / h
    sw = scale if scale is not None else ow / w
    is_u8 = img.dtype == np.uint8
    x = img.astype(np.float64)
    squeeze = x.ndim == 2
    if squeeze:
        x = x[:, :, None]
    # Rows first, unless the width shrinks more (MATLAB sorts dimensions by scale, stable).
    order = (0, 1) if sh <= sw else (1, 0)
    for dim in order:
        if dim == 0:
            x = np.einsum("oi,icx->ocx", resize_matrix(h, oh, sh), x)
        else:
            x = np.einsum("oi,hix->hox", resize_matrix(w, ow, sw), x)
        if is_u8:
            x = _round_u8(x).astype(np.float64)
    if squeeze:
        x = x[:, :, 0]
    return x.astype(np.uint8) if is_u8 else x


def downscale_lr(hr: np.ndarray, s: int) -> np.ndarray:
    """The benchmark's LR image for an HR uint8 image: floor(HR/s) pixels, MATLAB bicubic 1/s.

    The HR image is first cropped (top-left) to a multiple of s, as the benchmark's LR files were
    made: resizing the uncropped image shifts the sampling grid of the last row/column.
    """
    h, w = hr.shape[:2]
    if h < s or w < s:
        raise ValueError(f"image {w}x{h} is smaller than the scale {s}")
    hr = hr[: h - h % s, : w - w % s]
    return imresize(hr, 1.0 / s)
