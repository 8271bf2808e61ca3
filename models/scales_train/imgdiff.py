"""Compare two folders of images with the same names, value by value (8-bit): the fraction of
values that differ, the largest difference in levels, and the PSNR between them. Used to measure
what tiling changes in the engine's output (docs/engine.md).

    scripts/py -m scales_train.imgdiff A_DIR B_DIR
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def compare(a_dir: Path, b_dir: Path) -> dict:
    files = sorted(p for p in a_dir.iterdir() if p.is_file())
    if not files:
        raise SystemExit(f"{a_dir}: no images")
    changed = total = 0
    max_diff, se = 0, 0.0
    for f in files:
        other = b_dir / f.name
        if not other.exists():
            raise SystemExit(f"{other}: missing")
        a = np.asarray(Image.open(f), dtype=np.int32)
        b = np.asarray(Image.open(other), dtype=np.int32)
        if a.shape != b.shape:
            raise SystemExit(f"{f.name}: shapes differ {a.shape} vs {b.shape}")
        d = np.abs(a - b)
        changed += int((d > 0).sum())
        total += d.size
        max_diff = max(max_diff, int(d.max()))
        se += float((d.astype(np.float64) ** 2).sum())
    mse = se / total
    return {"images": len(files), "changed_fraction": changed / total, "max_levels": max_diff,
            "psnr_db": math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.imgdiff", description=__doc__.split("\n")[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    r = compare(ap.parse_args(argv).a, ap.parse_args(argv).b)
    print(f"{r['images']} images: {100 * r['changed_fraction']:.2f}% of 8-bit values differ, "
          f"max {r['max_levels']} levels, PSNR {r['psnr_db']:.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
