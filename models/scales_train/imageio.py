"""Image files in and out, and the colour conversions of the SR evaluation protocol."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_EXTS = {".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"}


def read_image(path: str | Path) -> np.ndarray:
    """HxW uint8 for gray files, HxWx3 uint8 for colour ones."""
    with Image.open(path) as im:
        if im.mode == "L":
            return np.asarray(im, dtype=np.uint8).copy()
        if im.mode not in ("RGB", "P", "RGBA"):
            raise ValueError(f"{path}: unsupported image mode {im.mode} (expected 8-bit RGB or gray)")
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def read_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8. Gray images are replicated to three channels (Set14's bridge.png is gray)."""
    with Image.open(path) as im:
        if im.mode not in ("RGB", "L"):
            raise ValueError(f"{path}: unsupported image mode {im.mode} (expected 8-bit RGB or gray)")
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in [16, 235] as float64, from uint8 RGB (the protocol's Y channel)."""
    x = rgb.astype(np.float64) / 255.0
    return (16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]))


def gray_luma(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma (0.299 R + 0.587 G + 0.114 B) as float64: for a gray image stored as
    R = G = B it is the gray value itself."""
    x = rgb.astype(np.float64)
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)
