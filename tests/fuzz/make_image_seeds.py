"""Writes the request fuzzer's seeds: small real images (Set5 crops) in every accepted format,
with and without alpha, gray, 16-bit, plus a PNG header claiming a huge size.

    scripts/py tests/fuzz/make_image_seeds.py OUT_DIR
"""
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def main(out: str) -> None:
    o = Path(out)
    o.mkdir(parents=True, exist_ok=True)
    src = Image.open(ROOT.parent / "shared" / "data" / "benchmark" / "Set5" / "LR_bicubic" / "X2" / "birdx2.png")
    crop = src.convert("RGB").crop((10, 10, 34, 30))
    for fmt in ("png", "jpeg", "webp", "tiff"):
        crop.save(o / f"rgb.{fmt}", format=fmt.upper())
    crop.convert("RGBA").save(o / "rgba.png")
    crop.convert("L").save(o / "gray.png")
    Image.fromarray((np.asarray(crop.convert("L"), dtype=np.uint16) * 257)).save(o / "gray16.png")
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    (o / "huge-header.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    for p in list(o.iterdir()):  # the fuzzer's layout: 2 option bytes (PNG, 9-pixel tiles), then the image
        p.write_bytes(bytes([0x09, 80]) + p.read_bytes())


if __name__ == "__main__":
    main(sys.argv[1])
