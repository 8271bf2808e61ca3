"""PSNR and SSIM on the Y channel, the standard SR protocol (../shared/data/README.md):
8-bit outputs, HR cropped top-left to LR size x s, `shave = s` pixels cut from every border,
Y = BT.601 luma of RGB. SSIM is Wang et al.'s (11x11 Gaussian window, sigma 1.5, K1 = 0.01,
K2 = 0.03, L = 255, 'valid' filtering), as in the reference MATLAB code and common SR toolkits.

CLI:  scripts/py -m scales_train.metrics --pred DIR --hr DIR --scale S [--json FILE]
A single-channel HR image (Set14's bridge) is scored on its gray values against the prediction's
full-range luma, as the reference MATLAB scripts do for gray images.
Predictions are matched to HR files by name: `<stem>.png`, `<stem>x<S>.png` or `<stem>_x<S>.png`
(any supported extension).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from .imageio import gray_luma, list_images, read_image, read_rgb, rgb_to_y


def _prepare(pred: np.ndarray, hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    if pred.dtype != np.uint8 or hr.dtype != np.uint8:
        raise TypeError("metrics take uint8 images (outputs are rounded to 8 bits before scoring)")
    h, w = pred.shape[:2]
    if hr.shape[0] < h or hr.shape[1] < w:
        raise ValueError(f"prediction {w}x{h} is larger than the HR image {hr.shape[1]}x{hr.shape[0]}")
    if hr.shape[0] - h >= scale or hr.shape[1] - w >= scale:
        raise ValueError(f"prediction {w}x{h} does not match HR {hr.shape[1]}x{hr.shape[0]} at x{scale} "
                         f"(expected floor(HR/{scale})*{scale})")
    hr = hr[:h, :w]
    s = scale
    if hr.ndim == 2:
        # Single-channel ground truth (Set14's bridge): the reference scripts score the gray values
        # themselves, not a studio-range Y, so the prediction's full-range luma is compared to them.
        yp = gray_luma(pred) if pred.ndim == 3 else pred.astype(np.float64)
        yh = hr.astype(np.float64)
    else:
        if pred.ndim == 2:
            pred = np.repeat(pred[..., None], 3, axis=2)
        yp, yh = rgb_to_y(pred), rgb_to_y(hr)
    return yp[s:-s, s:-s], yh[s:-s, s:-s]


def psnr_y(pred: np.ndarray, hr: np.ndarray, scale: int) -> float:
    yp, yh = _prepare(pred, hr, scale)
    mse = float(np.mean((yp - yh) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def _gauss_filter_valid(img: np.ndarray, win: np.ndarray) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view
    n = win.size
    t = sliding_window_view(img, n, axis=0) @ win           # (H-n+1, W)
    return sliding_window_view(t, n, axis=1) @ win          # (H-n+1, W-n+1)


def ssim_y(pred: np.ndarray, hr: np.ndarray, scale: int) -> float:
    yp, yh = _prepare(pred, hr, scale)
    x = np.arange(11, dtype=np.float64) - 5
    win = np.exp(-(x ** 2) / (2 * 1.5 ** 2))
    win /= win.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = _gauss_filter_valid(yp, win), _gauss_filter_valid(yh, win)
    s11 = _gauss_filter_valid(yp * yp, win) - mu1 * mu1
    s22 = _gauss_filter_valid(yh * yh, win) - mu2 * mu2
    s12 = _gauss_filter_valid(yp * yh, win) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return float(m.mean())


def to_uint8(x) -> np.ndarray:
    """Model output (3, H, W) or (H, W, 3) float in [0, 1] -> uint8 HxWx3, round half up, clipped."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] == 3 and a.shape[2] != 3:
        a = a.transpose(1, 2, 0)
    return np.floor(np.clip(a * 255.0, 0.0, 255.0) + 0.5).astype(np.uint8)


def score_pairs(pairs: list[tuple[str, np.ndarray, np.ndarray]], scale: int) -> dict:
    per = []
    for name, pred, hr in pairs:
        per.append({"image": name, "psnr": psnr_y(pred, hr, scale), "ssim": ssim_y(pred, hr, scale)})
    n = len(per)
    return {
        "scale": scale,
        "psnr": sum(p["psnr"] for p in per) / n if n else float("nan"),
        "ssim": sum(p["ssim"] for p in per) / n if n else float("nan"),
        "images": n,
        "per_image": per,
    }


def _match(pred_dir: Path, stem: str, scale: int) -> Path | None:
    for cand in (stem, f"{stem}x{scale}", f"{stem}_x{scale}"):
        for p in pred_dir.glob(cand + ".*"):
            if p.stem == cand:
                return p
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.metrics", description="Score a folder of SR predictions (PSNR/SSIM on Y).")
    ap.add_argument("--pred", required=True, help="folder of predicted HR images")
    ap.add_argument("--hr", required=True, help="folder of ground-truth HR images")
    ap.add_argument("--scale", type=int, required=True, help="upscaling factor (also the border shave)")
    ap.add_argument("--json", help="write the result as JSON to this file")
    a = ap.parse_args(argv)
    pred_dir, hr_dir = Path(a.pred), Path(a.hr)
    try:
        hrs = list_images(hr_dir)
        if not list_images(pred_dir):
            raise FileNotFoundError(f"no images in {pred_dir}")
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    pairs, missing = [], []
    for hp in hrs:
        pp = _match(pred_dir, hp.stem, a.scale)
        if pp is None:
            missing.append(hp.name)
            continue
        pairs.append((hp.stem, read_rgb(pp), read_image(hp)))
    if missing:
        print(f"error: no prediction for {len(missing)} HR image(s): {', '.join(missing[:10])}", file=sys.stderr)
        return 2
    try:
        res = score_pairs(pairs, a.scale)
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'image':<20} {'PSNR':>8} {'SSIM':>8}")
    for p in res["per_image"]:
        print(f"{p['image']:<20} {p['psnr']:8.2f} {p['ssim']:8.4f}")
    print(f"{'mean (' + str(res['images']) + ')':<20} {res['psnr']:8.2f} {res['ssim']:8.4f}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
