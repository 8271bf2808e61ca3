"""The user's pixels and metadata (issue 20, step 4), each case both through scales-server and
through `scales-upscale --local` (the `upscale` fixture's two params): ICC profiles kept or
converted to sRGB, EXIF and XMP copied with the orientation applied once, 16-bit PNG and TIFF in
and out, gray in and out, alpha at 8 and 16 bits and with gray, and animated or multi-page images
refused by name. The server runs need SCALES_SERVER, the CLI runs SCALES_UPSCALE; each is skipped
visibly without it."""
from __future__ import annotations

import io
import os
import struct
import subprocess
import zlib

import grpc
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from server_harness import ROOT, SERVER

CLI = os.environ.get("SCALES_UPSCALE")
MODEL = ROOT / "models" / "weights" / "scales-edsr-x2.safetensors"
EXT = {"FORMAT_PNG": "png", "FORMAT_JPEG": "jpg", "FORMAT_WEBP": "webp", "FORMAT_TIFF": "tif"}
W, H = 24, 20  # input size (not square, so a rotation shows)
MARK = "scales-pixels-test-mark"  # text in the XMP packet and the EXIF Make tag
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>' + MARK.encode() +
       b'</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>')
# Pillow's (lcms') sRGB profile: a real RGB profile, and not libvips' own sRGB profile (another size),
# so an output carrying these exact bytes got them from the input.
PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


class Refused(Exception):
    """The image was refused: INVALID_ARGUMENT from the server, exit status 1 from the CLI."""


@pytest.fixture(params=["server", "local"])
def upscale(request, tmp_path):
    """upscale(data, in_ext, fmt) -> the x2 output's bytes, through the server or the CLI."""
    if request.param == "server":
        if not SERVER:
            pytest.skip("SCALES_SERVER not set")
        srv = request.getfixturevalue("server")

        def through_server(data: bytes, in_ext: str = "png", fmt: str = "FORMAT_PNG") -> bytes:
            try:
                return srv.client.upscale(data, model="scales-edsr-x2", fmt=fmt, quality=95).image
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.details()
                raise Refused(e.details()) from None
        return through_server
    if not CLI:
        pytest.skip("SCALES_UPSCALE not set")
    runs = iter(range(1000))

    def through_cli(data: bytes, in_ext: str = "png", fmt: str = "FORMAT_PNG") -> bytes:
        n = next(runs)
        src, dst = tmp_path / f"in{n}.{in_ext}", tmp_path / f"out{n}.{EXT[fmt]}"
        src.write_bytes(data)
        r = subprocess.run([CLI, "--local", "-m", str(MODEL), "--quality", "95", "-i", str(src), "-o", str(dst)],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            assert r.returncode == 1 and not dst.exists(), r.stderr
            raise Refused(r.stderr)
        return dst.read_bytes()
    return through_cli


# ---- images: Pillow where it can, a small PNG writer and reader for 16-bit colour (Pillow reads
# 48- and 64-bit PNGs as 8-bit RGB and cannot write them)

def pil(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def save(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, format=fmt, **kw)
    return b.getvalue()


def smooth(h: int, w: int, c: int, top: int, seed: int = 0) -> np.ndarray:
    """A smooth picture with some texture, values in 0..top (float)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(seed)
    planes = [0.5 + 0.3 * np.sin(x / (3 + k) + y / (4 + k)) + 0.1 * rng.standard_normal((h, w)) for k in range(c)]
    return np.clip(np.stack(planes, axis=-1), 0, 1) * top


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_write(a: np.ndarray, icc: bytes | None = None) -> bytes:
    """A PNG of a uint8 or uint16 array, H x W x C with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA)."""
    h, w, c = a.shape
    bits = 16 if a.dtype == np.uint16 else 8
    rows = a.astype(">u2" if bits == 16 else np.uint8).reshape(h, -1)
    raw = b"".join(b"\x00" + r.tobytes() for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, {1: 0, 2: 4, 3: 2, 4: 6}[c],
                                                                   0, 0, 0))
    if icc:
        out += png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    return out + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def png_read(data: bytes) -> tuple[np.ndarray, int]:
    """(samples H x W x C, bit depth) of a non-interlaced gray/RGB(A) PNG of 8 or 16 bits."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
    w, h, bits, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert interlace == 0 and bits in (8, 16) and ctype in (0, 2, 4, 6), (bits, ctype, interlace)
    c = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    bpp, stride = c * bits // 8, w * c * bits // 8
    raw = zlib.decompress(idat)
    out, prev = np.zeros((h, stride), np.uint8), [0] * stride
    for y in range(h):
        f, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        cur = [0] * stride
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b, d = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                e = a + b - d
                pa, pb, pc = abs(e - a), abs(e - b), abs(e - d)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else d)
            cur[i] = (line[i] + p) & 0xFF
        out[y], prev = cur, cur
    samples = out.view(">u2") if bits == 16 else out
    return samples.reshape(h, w, c).astype(np.int64), bits


def tiff_read(data: bytes) -> tuple[np.ndarray, tuple]:
    """(samples H x W x C, BitsPerSample) of an uncompressed, chunky, striped TIFF (libvips' default)."""
    im = pil(data)
    t = im.tag_v2
    assert t[259] == 1 and t.get(284, 1) == 1, "compressed or planar TIFF"
    raw = b"".join(data[o:o + n] for o, n in zip(t[273], t[279]))
    bits = t[258] if isinstance(t[258], tuple) else (t[258],)
    dt = np.dtype(("<" if data[:2] == b"II" else ">") + ("u2" if bits[0] == 16 else "u1"))
    w, h = im.size
    return np.frombuffer(raw, dt)[:w * h * len(bits)].reshape(h, w, len(bits)).astype(np.int64), bits


def exif_bytes(orientation: int) -> bytes:
    e = Image.Exif()
    e[0x0112] = orientation
    e[0x010F] = MARK  # Make: a tag that must survive
    return e.tobytes()


def with_jpeg_xmp(jpeg: bytes) -> bytes:
    """A JPEG with an XMP APP1 segment after SOI (Pillow 9 cannot write one)."""
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + XMP
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def has_xmp(data: bytes) -> bool:
    """Whether the output carries the test's XMP packet (libvips writes PNG's compressed, as zTXt)."""
    return XMP in data or pil(data).info.get("XML:com.adobe.xmp") == XMP.decode()


def rgb8(seed: int = 0) -> np.ndarray:
    return np.round(smooth(H, W, 3, 255, seed)).astype(np.uint8)


# ---- ICC

@pytest.mark.parametrize("fmt", list(EXT))
def test_rgb_icc_profile_is_kept_and_values_are_not_converted(upscale, fmt):
    """RGB with a profile is upscaled in its own values and the output carries the same profile."""
    a = rgb8()
    tagged = upscale(save(Image.fromarray(a), icc_profile=PROFILE), fmt=fmt)
    plain = upscale(save(Image.fromarray(a)), fmt=fmt)
    out = pil(tagged)
    assert out.size == (2 * W, 2 * H) and out.mode == "RGB"
    assert out.info.get("icc_profile") == PROFILE
    assert not pil(plain).info.get("icc_profile"), "an untagged input got a profile"
    # Same pixels with and without the profile: no colour conversion happened.
    assert np.array_equal(np.asarray(out), np.asarray(pil(plain)))


def test_profile_for_another_colour_space_is_dropped(upscale):
    """A gray image that claims an RGB profile: the profile cannot describe it and is not copied."""
    g = np.round(smooth(H, W, 1, 255)[..., 0]).astype(np.uint8)
    out = pil(upscale(save(Image.fromarray(g, "L"), icc_profile=PROFILE)))
    assert out.mode == "L" and not out.info.get("icc_profile")


def test_cmyk_is_converted_to_srgb_and_tagged(upscale):
    """CMYK goes through a CMYK profile (libvips' default: this JPEG has none) to sRGB, and the
    output carries libvips' sRGB profile."""
    patches = np.zeros((H, W, 4), np.uint8)
    patches[:, : W // 2] = (0, 0, 0, 0)  # paper white
    patches[:, W // 2:] = (0, 0, 0, 255)  # full black ink
    data = save(Image.fromarray(patches, "CMYK"), "JPEG", quality=100)
    out = pil(upscale(data, in_ext="jpg"))
    assert out.size == (2 * W, 2 * H) and out.mode == "RGB"
    icc = out.info.get("icc_profile")
    assert icc and icc[16:20] == b"RGB " and icc != PROFILE
    assert "srgb" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).lower()
    px = np.asarray(out).astype(int)
    assert px[4:-4, 4:W - 4].min() > 230, "paper white is not near white"
    assert px[4:-4, W + 4:-4].max() < 90, "black ink is not dark"


def test_lab_tiff_is_converted_to_srgb_and_tagged(upscale):
    """An 8-bit CIELAB TIFF (libvips loads it packed, as LABQ) comes out as tagged sRGB close to
    the same picture sent as RGB (the Lab round trip moves values by a level or so, and the
    binary network passes that on)."""
    src = Image.fromarray(rgb8(8))
    srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    data = save(ImageCms.applyTransform(src, ImageCms.buildTransform(srgb, lab, "RGB", "LAB")), "TIFF")
    out = pil(upscale(data, in_ext="tif"))
    assert out.mode == "RGB" and out.size == (2 * W, 2 * H)
    assert out.info["icc_profile"][16:20] == b"RGB " and out.info["icc_profile"] != PROFILE
    rgb = np.asarray(pil(upscale(save(src)))).astype(float)
    assert np.abs(np.asarray(out).astype(float) - rgb).mean() < 8


# ---- EXIF, XMP, orientation

def test_orientation_is_applied_once(upscale):
    """Orientation 6 on a 24x20 PNG: the output is upright 40x48, has orientation 1 (or none), and
    its pixels equal those of the same picture stored upright without EXIF."""
    a = rgb8(1)
    tagged = upscale(save(Image.fromarray(a), exif=exif_bytes(6)))
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(save(Image.fromarray(a), exif=exif_bytes(6)))))
    assert upright.size == (H, W)
    reference = upscale(save(Image.fromarray(np.asarray(upright))))
    out = pil(tagged)
    assert out.size == (2 * H, 2 * W)
    assert out.getexif().get(0x0112, 1) == 1
    assert ImageOps.exif_transpose(out).size == out.size, "re-reading the output rotates it again"
    assert np.array_equal(np.asarray(out), np.asarray(pil(reference)))


@pytest.mark.parametrize("fmt", list(EXT))
def test_exif_and_xmp_are_copied(upscale, fmt):
    """A JPEG with EXIF (orientation 6, Make) and XMP: every output format keeps the XMP packet and
    the orientation at 1; PNG, JPEG and WebP keep the EXIF block (TIFF: see below)."""
    jpeg = with_jpeg_xmp(save(Image.fromarray(rgb8(2)), "JPEG", quality=95, exif=exif_bytes(6)))
    assert MARK.encode() in jpeg and pil(jpeg).getexif()[0x0112] == 6
    data = upscale(jpeg, in_ext="jpg", fmt=fmt)
    out = pil(data)
    assert out.size == (2 * H, 2 * W), "orientation not applied"
    assert has_xmp(data), "XMP packet not copied"
    exif = out.getexif()
    assert exif.get(0x0112, 1) == 1
    assert ImageOps.exif_transpose(out).size == out.size
    if fmt != "FORMAT_TIFF":
        assert exif.get(0x010F) == MARK, "EXIF not copied"


def test_png_xmp_is_copied(upscale):
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    data = upscale(save(Image.fromarray(rgb8()), pnginfo=info))
    assert has_xmp(data)


# ---- 16 bits

def rgb16(seed: int = 0) -> np.ndarray:
    return np.round(smooth(H, W, 3, 65535, seed)).astype(np.uint16)


def test_16_bit_png_gives_16_bit_png_and_tiff(upscale):
    a = rgb16()
    assert (a % 257 != 0).mean() > 0.9
    out, bits = png_read(upscale(png_write(a)))
    assert bits == 16 and out.shape == (2 * H, 2 * W, 3)
    assert (out % 257 != 0).mean() > 0.5, "the output's 16 bits are 8 bits widened"
    # The same picture at 8 bits through the 8-bit path: the 16-bit output agrees with it, apart
    # from what the binary network does with inputs that differ by up to half an 8-bit level.
    out8 = np.asarray(pil(upscale(save(Image.fromarray(np.round(a / 257).astype(np.uint8)))))).astype(np.int64)
    mse = np.mean((out / 257.0 - out8) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 40, mse
    # TIFF output: 16 bits per sample, the same samples as the PNG.
    tif, tbits = tiff_read(upscale(png_write(a), fmt="FORMAT_TIFF"))
    assert tbits == (16, 16, 16) and np.array_equal(tif, out)
    # JPEG holds 8 bits: the 16-bit input is written as 8-bit JPEG.
    jpg = pil(upscale(png_write(a), fmt="FORMAT_JPEG"))
    assert jpg.mode == "RGB" and jpg.size == (2 * W, 2 * H)


def test_16_bit_gray_tiff_gives_16_bit_gray(upscale):
    g = np.round(smooth(H, W, 1, 65535, 3)[..., 0]).astype(np.uint16)
    data = save(Image.fromarray(g), "TIFF")
    assert pil(data).mode == "I;16"
    out, bits = png_read(upscale(data, in_ext="tif"))
    assert bits == 16 and out.shape == (2 * H, 2 * W, 1)
    assert (out % 257 != 0).mean() > 0.5
    tif, tbits = tiff_read(upscale(data, in_ext="tif", fmt="FORMAT_TIFF"))
    assert tbits == (16,) and np.array_equal(tif, out)


def test_16_bit_alpha_is_upscaled_and_kept(upscale):
    """RGBA at 16 bits: the alpha ramp (not multiples of 257) comes back at 16 bits, upscaled."""
    a = rgb16(4)
    ramp = (1000 + 1999 * np.arange(W))[None, :].repeat(H, 0).astype(np.uint16)
    out, bits = png_read(upscale(png_write(np.dstack([a, ramp]))))
    assert bits == 16 and out.shape == (2 * H, 2 * W, 4)
    alpha = out[..., 3]
    assert np.all(alpha == alpha[0]), "the alpha ramp changed down the columns"
    # Bicubic (Catmull-Rom) reproduces a linear ramp away from the edges; pixel centres aligned:
    # output column k sits at input column (k + 0.5) / 2 - 0.5.
    k = np.arange(4, 2 * W - 4)
    assert np.abs(alpha[0, k] - (1000 + 1999 * ((k + 0.5) / 2 - 0.5))).max() <= 1
    assert (alpha % 257 != 0).mean() > 0.9


# ---- gray and alpha

def test_gray_stays_gray(upscale):
    """One band in, one band out, equal (within rounding) to the mean of an RGB run of the same picture."""
    g = np.round(smooth(H, W, 1, 255, 5)[..., 0]).astype(np.uint8)
    out = pil(upscale(save(Image.fromarray(g, "L"))))
    assert out.mode == "L" and out.size == (2 * W, 2 * H)
    rgb = np.asarray(pil(upscale(save(Image.fromarray(np.dstack([g, g, g])))))).astype(np.float64)
    # The gray band is the mean of the model's three channels before rounding: within one level of
    # the mean of the rounded RGB output wherever no channel was clipped at 0 or 255.
    inside = np.all((rgb > 0) & (rgb < 255), axis=2)
    assert inside.mean() > 0.9
    assert np.abs(np.asarray(out) - rgb.mean(axis=2))[inside].max() <= 1.0
    assert pil(upscale(save(Image.fromarray(g, "L")), fmt="FORMAT_JPEG")).mode == "L"
    assert pil(upscale(save(Image.fromarray(g, "L")), fmt="FORMAT_TIFF")).mode == "L"
    webp = np.asarray(pil(upscale(save(Image.fromarray(g, "L")), fmt="FORMAT_WEBP")).convert("RGB")).astype(int)
    # WebP holds RGB only: gray is written as three equal bands (equal up to lossy YUV rounding).
    assert np.abs(webp - webp[..., :1]).max() <= 2


def test_gray_and_alpha_and_rgba(upscale):
    g = np.round(smooth(H, W, 1, 255, 6)[..., 0]).astype(np.uint8)
    alpha = np.full((H, W), 77, np.uint8)
    out = pil(upscale(save(Image.fromarray(np.dstack([g, alpha]), "LA"))))
    assert out.mode == "LA" and out.size == (2 * W, 2 * H)
    la = np.asarray(out)
    assert np.all(la[..., 1] == 77), "alpha not kept"
    gray_only = np.asarray(pil(upscale(save(Image.fromarray(g, "L")))))
    assert np.array_equal(la[..., 0], gray_only), "alpha changed the gray band"
    ramp = (10 * np.arange(W))[None, :].repeat(H, 0).astype(np.uint8)
    rgba = np.asarray(pil(upscale(save(Image.fromarray(np.dstack([rgb8(7), ramp]), "RGBA")))))
    assert rgba.shape == (2 * H, 2 * W, 4)
    assert np.all(np.diff(rgba[:, 2:-2, 3].astype(int), axis=1) >= 0) and rgba[..., 3].max() >= 220


# ---- animation and pages

@pytest.mark.parametrize("kind", ["webp", "tif"])
def test_animated_or_multi_page_is_refused_by_name(upscale, kind):
    frames = [Image.fromarray(rgb8(s)) for s in range(3)]
    data = save(frames[0], "WEBP" if kind == "webp" else "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(Refused) as e:
        upscale(data, in_ext=kind)
    assert "animated or multi-page image (3 pages) is not supported; send one frame" in str(e.value)
    # One frame of the same format is fine.
    assert pil(upscale(save(frames[0], "WEBP" if kind == "webp" else "TIFF"), in_ext=kind)).size == (2 * W, 2 * H)
