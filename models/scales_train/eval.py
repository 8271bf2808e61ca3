"""Run a model on benchmark sets and score it to the standard protocol.

    scripts/py -m scales_train.eval --model FILE|bicubic --sets Set5,Set14,B100 --scale S
        [--data ../shared/data/benchmark] [--json FILE] [--save DIR] [--threads N]

FILE is a model file (.safetensors, docs/model-format.md) or a training checkpoint (.pt). Inputs are
the sets' official LR_bicubic files; outputs are rounded to 8 bits, then scored on Y (metrics.py).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from .bicubic import imresize
from .checkpoint import load_checkpoint_model
from .imageio import list_images, read_image, read_rgb, write_png
from .metrics import score_pairs, to_uint8

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmark"


def load_net(path: str | Path):
    """(config, network in eval mode) from a model file (.safetensors) or a training checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.suffix == ".safetensors":
        from .inference import load_inference
        cfg, net, _ = load_inference(path)
    else:
        cfg, net = load_checkpoint_model(path)
    return cfg, net.eval()


def load_runner(model: str):
    """Returns (name, scale or None, fn: uint8 HxWx3 LR -> uint8 HR)."""
    if model == "bicubic":
        return "bicubic", None, None
    path = Path(model)
    cfg, net = load_net(path)

    def run(lr: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(lr.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            y = net(x)[0]
        return to_uint8(y.numpy())

    return path.stem, cfg.scale, run


def evaluate(model: str, sets: list[str], scale: int, data: Path, save: Path | None = None,
             limit: int | None = None) -> dict:
    name, model_scale, run = load_runner(model)
    if model_scale is not None and model_scale != scale:
        raise ValueError(f"model {name} is x{model_scale}, not x{scale}")
    out = {"model": name, "scale": scale, "sets": {}}
    for s in sets:
        hr_dir = data / s / "HR"
        lr_dir = data / s / "LR_bicubic" / f"X{scale}"
        pairs = []
        for hp in list_images(hr_dir)[:limit]:
            lp = lr_dir / f"{hp.stem}x{scale}{hp.suffix}"
            if not lp.is_file():
                raise FileNotFoundError(f"LR file missing: {lp}")
            lr = read_rgb(lp)
            sr = imresize(lr, float(scale)) if run is None else run(lr)
            if save is not None:
                write_png(save / s / f"{hp.stem}.png", sr)
            pairs.append((hp.stem, sr, read_image(hp)))
        r = score_pairs(pairs, scale)
        out["sets"][s] = {"psnr": r["psnr"], "ssim": r["ssim"], "images": r["images"]}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model file (.safetensors), checkpoint (.pt) or 'bicubic'")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="benchmark folder (default: %(default)s)")
    ap.add_argument("--sets", default="Set5,Set14,B100", help="comma-separated set names")
    ap.add_argument("--scale", type=int, required=True)
    ap.add_argument("--json", help="write the result as JSON to this file")
    ap.add_argument("--save", help="write the SR images under DIR/<set>/")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    a = ap.parse_args(argv)
    import os
    torch.set_num_threads(a.threads or os.cpu_count() or 1)
    try:
        res = evaluate(a.model, [s for s in a.sets.split(",") if s], a.scale, Path(a.data),
                       Path(a.save) if a.save else None)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"model {res['model']}  x{a.scale}")
    print(f"{'set':<8} {'PSNR':>8} {'SSIM':>8} {'images':>7}")
    for s, r in res["sets"].items():
        print(f"{s:<8} {r['psnr']:8.2f} {r['ssim']:8.4f} {r['images']:7d}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
