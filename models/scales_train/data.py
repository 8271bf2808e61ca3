"""Training patches from the HR-only training images (T91 + BSD200 = '291').

LR images are made here, once per image at start-up, with the MATLAB-compatible bicubic (the same
function that reproduces the benchmark LR files), so training inputs have exactly the statistics of
the evaluation inputs. Patches are random aligned crops (LR p x p, HR ps x ps) with random
horizontal flip, vertical flip and transpose (the 8 dihedral variants, 90-degree rotations included).
The sampler's state is a numpy Generator, saved in checkpoints so a resumed run draws the same batches.

Making the LR images takes about 40 s per scale for the 291 images, at every (re)start of a run;
they are cached in runs/lr-cache/ (not committed), keyed by the files' names, sizes and times.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .bicubic import downscale_lr
from .imageio import list_images, read_rgb

DEFAULT_TRAIN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "train"
LR_CACHE = Path(__file__).resolve().parents[2] / "runs" / "lr-cache"


def _cache_file(files: list[Path], scale: int) -> Path:
    h = hashlib.sha256(f"bicubic-v1 x{scale}".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns};".encode())
    return LR_CACHE / f"x{scale}-{h.hexdigest()[:16]}.npz"


def load_lr_images(files: list[Path], hrs: list[np.ndarray], scale: int) -> list[np.ndarray]:
    """The MATLAB-bicubic LR image of each HR image, from the cache when it has them."""
    path = _cache_file(files, scale)
    if path.is_file():
        try:
            with np.load(path) as z:
                lrs = [z[f"lr{i}"] for i in range(len(files))]
            if all(lr.shape == (hr.shape[0] // scale, hr.shape[1] // scale, 3) for lr, hr in zip(lrs, hrs)):
                return lrs
        except (OSError, KeyError, ValueError):
            pass  # unreadable or stale: made again below
    lrs = [downscale_lr(hr, scale) for hr in hrs]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **{f"lr{i}": lr for i, lr in enumerate(lrs)})
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only tree trains without the cache
    return lrs


class PatchSampler:
    def __init__(self, root: str | Path, scale: int, patch: int, seed: int = 0):
        root = Path(root)
        files = sorted(p for d in sorted(root.iterdir()) if d.is_dir() for p in list_images(d)) if root.is_dir() else []
        if not files:
            raise FileNotFoundError(f"no training images under {root}")
        self.scale, self.patch = scale, patch
        self.pairs = []
        hrs = [read_rgb(f) for f in files]
        for hr, lr in zip(hrs, load_lr_images(files, hrs, scale)):
            if lr.shape[0] >= patch and lr.shape[1] >= patch:
                self.pairs.append((lr, hr[: lr.shape[0] * scale, : lr.shape[1] * scale]))
        if not self.pairs:
            raise ValueError(f"no training image is large enough for {patch}px LR patches at x{scale}")
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.pairs)

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3, p, p) and (n, 3, ps, ps) float32 in [0, 1]."""
        lrs, hrs = self.batch_uint8(n)
        return lrs.astype(np.float32) / 255.0, hrs.astype(np.float32) / 255.0

    def batch_uint8(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The same draw as batch(), as 8-bit pixels: a GPU trainer sends these (a quarter of the
        bytes) and divides by 255 there, which gives batch()'s float32 values bit for bit."""
        p, s = self.patch, self.scale
        lrs = np.empty((n, 3, p, p), np.uint8)
        hrs = np.empty((n, 3, p * s, p * s), np.uint8)
        for k in range(n):
            lr, hr = self.pairs[self.rng.integers(len(self.pairs))]
            y = int(self.rng.integers(lr.shape[0] - p + 1))
            x = int(self.rng.integers(lr.shape[1] - p + 1))
            a = lr[y:y + p, x:x + p]
            b = hr[y * s:(y + p) * s, x * s:(x + p) * s]
            flip_h, flip_v, transpose = self.rng.integers(2, size=3)
            if flip_h:
                a, b = a[:, ::-1], b[:, ::-1]
            if flip_v:
                a, b = a[::-1], b[::-1]
            if transpose:
                a, b = a.transpose(1, 0, 2), b.transpose(1, 0, 2)
            lrs[k] = a.transpose(2, 0, 1)
            hrs[k] = b.transpose(2, 0, 1)
        return lrs, hrs

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, st: dict) -> None:
        self.rng.bit_generator.state = st
