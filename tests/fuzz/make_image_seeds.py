"""Writes the request fuzzer's seeds: small real images (Set5 crops) in every accepted format,
with and without alpha, gray, gray + alpha, 16-bit gray and RGBA, an ICC profile with EXIF
(orientation 6) and XMP, CMYK, animated WebP and a two-page TIFF (refused), plus a PNG header
claiming a huge size.

    scripts/py tests/fuzz/make_image_seeds.py OUT_DIR
"""
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

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
    crop.convert("LA").save(o / "gray-alpha.png")
    # 16-bit RGBA (Pillow cannot write it): one filter-0 row after another, big-endian samples.
    rgba16 = np.asarray(crop.convert("RGBA"), dtype=np.uint16) * 257 + 3
    h, w = rgba16.shape[:2]
    rows = b"".join(b"\x00" + r.astype(">u2").tobytes() for r in rgba16)
    (o / "rgba16.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0)) +
                                   chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    exif = Image.Exif()
    exif[0x0112] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
    jpeg = o / "icc-exif-xmp.jpeg"
    crop.save(jpeg, format="JPEG", exif=exif.tobytes(), icc_profile=icc)
    j = jpeg.read_bytes()
    jpeg.write_bytes(j[:2] + b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp + j[2:])
    crop.convert("CMYK").save(o / "cmyk.jpeg", format="JPEG")
    frames = [crop, crop.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    frames[0].save(o / "animated.webp", format="WEBP", save_all=True, append_images=frames[1:])
    frames[0].save(o / "two-pages.tiff", format="TIFF", save_all=True, append_images=frames[1:])
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    (o / "huge-header.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    for p in list(o.iterdir()):  # the fuzzer's layout: 2 option bytes (PNG, 9-pixel tiles), then the image
        p.write_bytes(bytes([0x09, 80]) + p.read_bytes())


if __name__ == "__main__":
    main(sys.argv[1])
