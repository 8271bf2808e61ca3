"""Packs what a device lease's training needs into .device-data/ (git-ignored), small enough to
travel with the working tree (64 MiB in all):

- train/: T91 + BSD200 as lossless WebP (about 42 MB against 63 MB of PNG; every pixel checked
  equal to the PNG's after writing);
- benchmark/Set5/: HR and the LR files of the asked scales, for the trainer's progress line only
  (validation, never training);
- start/xS.pt: each warm start's checkpoint without its optimizer moments (a warm restart starts a
  fresh optimizer, scale_start.py), a third of the size, naming the checkpoint it was made from
  (train.py records that one as the start).

    scripts/py models/scripts/pack_device_data.py --scales 2 3 --start 2:CKPT 3:CKPT
"""
from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from scales_train.checkpoint import read_checkpoint

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def to_webp(job: tuple[Path, Path]) -> int:
    src, dst = job
    if not dst.is_file():
        Image.open(src).save(dst, "WEBP", lossless=True, quality=100, method=6)
    a = np.asarray(Image.open(src).convert("RGB"))
    b = np.asarray(Image.open(dst).convert("RGB"))
    if a.shape != b.shape or not (a == b).all():
        raise SystemExit(f"error: {dst} does not hold the pixels of {src}")
    return dst.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / ".device-data"))
    ap.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--start", nargs="*", default=[], help="SCALE:CHECKPOINT warm starts")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    out = Path(a.out)
    jobs = []
    for src in sorted((SHARED / "train").glob("*/*.png")):
        dst = out / "train" / src.parent.name / (src.stem + ".webp")
        dst.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((src, dst))
    with ProcessPoolExecutor(a.jobs) as ex:
        size = sum(ex.map(to_webp, jobs))
    print(f"train: {len(jobs)} images, {size / 1e6:.1f} MB")
    set5 = SHARED / "benchmark" / "Set5"
    bench = out / "benchmark" / "Set5"
    shutil.rmtree(bench, ignore_errors=True)
    shutil.copytree(set5 / "HR", bench / "HR")
    for s in a.scales:
        shutil.copytree(set5 / "LR_bicubic" / f"X{s}", bench / "LR_bicubic" / f"X{s}")
    shutil.rmtree(out / "start", ignore_errors=True)
    for spec in a.start:
        scale, path = spec.split(":", 1)
        ck = read_checkpoint(path)
        ck.pop("optimizer", None)
        ck["packed_from"] = str(Path(path).resolve().relative_to(ROOT))  # train.py records this as the start
        # The start's own record (iterations, core-hours) travels with it: its path there differs.
        dst = out / "start" / f"x{scale}.pt"
        dst.parent.mkdir(parents=True, exist_ok=True)
        torch.save(ck, dst)
        print(f"start x{scale}: {path} at iteration {ck['iteration']}, {dst.stat().st_size / 1e6:.1f} MB")
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out}: {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
