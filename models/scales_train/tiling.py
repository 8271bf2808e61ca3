"""Tiled inference in PyTorch, and a measure of what tiling changes (a reference for the engine).

    scripts/py -m scales_train.tiling --model FILE --scale S [--tile 96] [--context 16] [--sets Set5,Set14]

Each tile of T x T LR pixels is run with `context` extra pixels on every side (cut at the image
border, where the network's own zero/+1 padding applies, exactly as in whole-image inference); only
the tile's own output is kept. Without the channel re-scaling every output pixel then depends only on
inputs inside its receptive field, so a context that covers it reproduces whole-image inference.
The channel re-scaling reads per-image channel means, which a tile computes over itself only: that
is the one place tiled output can differ, and this command measures by how much.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from .eval import DEFAULT_DATA, load_net
from .imageio import list_images, read_image, read_rgb
from .metrics import psnr_y, to_uint8


def tiled_forward(net, x: torch.Tensor, scale: int, tile: int, context: int) -> torch.Tensor:
    _, _, h, w = x.shape
    out = torch.empty(x.shape[0], 3, h * scale, w * scale, dtype=x.dtype)
    with torch.no_grad():
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                y1, x1 = min(h, y0 + tile), min(w, x0 + tile)
                a, b = max(0, y0 - context), max(0, x0 - context)
                c, d = min(h, y1 + context), min(w, x1 + context)
                o = net(x[:, :, a:c, b:d])
                out[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                    o[:, :, (y0 - a) * scale:(y1 - a) * scale, (x0 - b) * scale:(x1 - b) * scale]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.tiling", description="Whole-image vs tiled inference.")
    ap.add_argument("--model", required=True)
    ap.add_argument("--tile", type=int, default=96)
    ap.add_argument("--context", type=int, default=16)
    ap.add_argument("--sets", default="Set5,Set14")
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    a = ap.parse_args(argv)
    cfg, net = load_net(a.model)
    s = cfg.scale
    full_p, tile_p, max_diff, changed = [], [], 0, 0
    total = 0
    for set_name in a.sets.split(","):
        root = Path(a.data) / set_name
        for hp in list_images(root / "HR"):
            lr = read_rgb(root / "LR_bicubic" / f"X{s}" / f"{hp.stem}x{s}.png")
            x = torch.from_numpy(lr.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
            with torch.no_grad():
                f = to_uint8(net(x)[0].numpy())
            t = to_uint8(tiled_forward(net, x, s, a.tile, a.context)[0].numpy())
            hr = read_image(hp)
            full_p.append(psnr_y(f, hr, s))
            tile_p.append(psnr_y(t, hr, s))
            d = np.abs(f.astype(np.int16) - t.astype(np.int16))
            max_diff = max(max_diff, int(d.max()))
            changed += int((d > 0).sum())
            total += d.size
    print(f"model {Path(a.model).stem} x{s}, tile {a.tile}, context {a.context}, sets {a.sets}")
    print(f"PSNR whole image {np.mean(full_p):.3f} dB, tiled {np.mean(tile_p):.3f} dB; "
          f"8-bit values changed {100.0 * changed / total:.3f}%, max change {max_diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
