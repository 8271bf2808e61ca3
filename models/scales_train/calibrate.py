"""Calibrate a model file's FP convs for int8: the range of each input channel, from training images.

    scripts/py -m scales_train.calibrate --model FILE [--out FILE] [--data ../shared/data/train/T91]
        [--images 40]

Writes `P.input_absmax` (C_in floats: max |input| per channel) for every FP conv whose input is a
feature map (EDSR: up.*, tail; SwinIR: conv_after_body, up), measured by running the fp32 network
on bicubic-downscaled training images. The image convs (head, conv_first) stay fp32: their 3 input
channels make them cheap. Test images are never used. Whether a layer then runs int8 is decided by
scales_train.precision_gate (metadata `fp_precision`); these ranges alone change nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import safetensors
from .bicubic import imresize
from .imageio import list_images, read_rgb
from .inference import load_inference

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "train" / "T91"
IMAGE_CONVS = ("head", "conv_first")


def feature_convs(tensors: dict) -> list[str]:
    """Prefixes of the FP 3x3 convs that read feature maps (the ones worth int8)."""
    out = []
    for name, t in tensors.items():
        if name.endswith(".weight") and t.ndim == 4 and t.shape[2:] == (3, 3):
            p = name[: -len(".weight")]
            if p not in IMAGE_CONVS and p + ".bias" in tensors and t.shape[1] > 3:
                out.append(p)
    return sorted(out)


def input_ranges(path: Path, images: list[Path], limit_side: int = 192) -> dict[str, np.ndarray]:
    cfg, net, _ = load_inference(path)
    tensors, _ = safetensors.load(path)
    convs = feature_convs(tensors)
    # The inference network holds copies of the file's weights; find each by its values.
    by_ptr = {}
    for p in convs:
        w = torch.from_numpy(tensors[p + ".weight"])
        for b in net.buffers():
            if b.shape == w.shape and torch.equal(b, w):
                by_ptr[b.data_ptr()] = p
    missing = set(convs) - set(by_ptr.values())
    if missing:
        raise ValueError(f"{path}: convs not found in the inference network: {sorted(missing)}")
    ranges = {p: np.zeros(tensors[p + ".weight"].shape[1], np.float32) for p in convs}
    conv2d = F.conv2d

    def recording(x, w, *a, **k):
        p = by_ptr.get(w.data_ptr())
        if p is not None:
            m = x.detach().abs().amax(dim=(0, 2, 3)).numpy()
            ranges[p] = np.maximum(ranges[p], m)
        return conv2d(x, w, *a, **k)

    s = cfg.scale
    F.conv2d = recording
    try:
        with torch.no_grad():
            for ip in images:
                hr = read_rgb(ip)[:limit_side * s, :limit_side * s]
                h, w = hr.shape[0] // s * s, hr.shape[1] // s * s
                lr = imresize(hr[:h, :w], 1.0 / s)
                x = torch.from_numpy(lr.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
                net(x)
    finally:
        F.conv2d = conv2d
    return ranges


def write_ranges(src: Path, dst: Path, ranges: dict[str, np.ndarray], extra_meta: dict[str, str]) -> None:
    tensors, meta = safetensors.load(src)
    for p, r in ranges.items():
        tensors[p + ".input_absmax"] = r.astype(np.float32)
    meta = {**meta, **extra_meta}
    safetensors.save(dst, tensors, meta)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model file (.safetensors)")
    ap.add_argument("--out", help="output file (default: overwrite --model)")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="training images (default: %(default)s)")
    ap.add_argument("--images", type=int, default=40, help="how many (default: %(default)s)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    try:
        images = list_images(a.data)[: a.images]
        ranges = input_ranges(Path(a.model), images)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_ranges(Path(a.model), Path(a.out or a.model), ranges,
                 {"calibration": f"{Path(a.data).name}: {len(images)} images, max |x| per input channel"})
    for p, r in ranges.items():
        print(f"{p:<20} channels {r.size:4d}  range {r.min():.3f} .. {r.max():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
