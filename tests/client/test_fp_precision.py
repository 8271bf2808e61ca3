"""The bundled models' recorded FP precisions (metadata fp_precision: int8 / bf16 layers, chosen by
scales_train.precision_gate) lose at most 0.02 dB against the same engine in fp32, on Set5, Set14
and B100, through `scales-upscale --local`, on whatever CPU runs the test (the int8 and bf16 paths
differ per ISA: VNNI, AVX2, AVX512-BF16, NEON).

The arm64 build is checked too, under qemu-aarch64 (its default CPU has SDOT and BFDOT, so the
recorded layers run on the engine's NEON forms, fp/conv3x3_neon.h), through scales-ppm-upscale from
the cross build (no libvips there). qemu is slow: Set5 only, and scales-edsr-x2 only unless
SCALES_ARM_PRECISION_MODELS=all.
"""
import os
import shutil
import subprocess

import pytest
from PIL import Image

from scales_train import safetensors
from scales_train.imageio import list_images, read_image, read_rgb
from scales_train.metrics import psnr_y

from conftest import WEIGHTS

CLI = os.environ.get("SCALES_UPSCALE")
MODELS = sorted(p for p in WEIGHTS.glob("*.safetensors")) if WEIGHTS.is_dir() else []
MAX_LOSS_DB = 0.02


def _psnr(cli, model, lr_dir, hr_dir, scale, out, fp32):
    cmd = [cli, "--local", "-m", str(model), "-i", str(lr_dir), "-o", str(out), "--threads", "2"]
    if fp32:
        cmd += ["--fp-precision", "fp32"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    vals = [psnr_y(read_image(out / f"{hp.stem}x{scale}.png"), read_image(hp), scale) for hp in list_images(hr_dir)]
    return sum(vals) / len(vals)


@pytest.mark.skipif(not CLI, reason="SCALES_UPSCALE not set (scripts/test builds and sets it)")
@pytest.mark.parametrize("model", MODELS, ids=[p.stem for p in MODELS])
def test_recorded_precision_loses_at_most_002_db(model, bench, tmp_path):
    _, meta = safetensors.load(model)
    recorded = meta.get("fp_precision", "")
    if not recorded:
        pytest.skip(f"{model.name} records no low-precision layer: it runs fp32 only")
    s = int(meta["scale"])
    for name in ("Set5", "Set14", "B100"):
        lr, hr = bench / name / "LR_bicubic" / f"X{s}", bench / name / "HR"
        ref = _psnr(CLI, model, lr, hr, s, tmp_path / name / "fp32", True)
        got = _psnr(CLI, model, lr, hr, s, tmp_path / name / "model", False)
        assert ref - got <= MAX_LOSS_DB, f"{model.name} ({recorded}) on {name}: {got:.3f} dB against fp32 {ref:.3f}"


@pytest.mark.skipif(not CLI, reason="SCALES_UPSCALE not set (scripts/test builds and sets it)")
def test_fp_precision_flag_is_checked(tmp_path):
    r = subprocess.run([CLI, "--local", "-m", str(MODELS[0]), "-i", str(tmp_path), "-o", str(tmp_path / "o"),
                        "--fp-precision", "int4"], capture_output=True, text=True)
    assert r.returncode != 0 and "fp-precision" in r.stderr


ARM_PPM = os.environ.get("SCALES_ARM_PPM_UPSCALE")
ARM_MODELS = MODELS if os.environ.get("SCALES_ARM_PRECISION_MODELS") == "all" else [
    p for p in MODELS if p.stem == "scales-edsr-x2"]


def _arm_psnr(model, lrs, hr_dir, scale, out, fp32):
    out.mkdir(parents=True)
    cmd = ["qemu-aarch64", ARM_PPM, "--model", str(model), "--threads", "2"]
    if fp32:
        cmd += ["--fp-precision", "fp32"]
    for lr in lrs:
        cmd += [str(lr), str(out / lr.name)]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "QEMU_CPU": "max"})
    assert r.returncode == 0, r.stderr
    outs = {lr.stem: read_image(out / lr.name) for lr in lrs}
    vals = [psnr_y(outs[f"{hp.stem}x{scale}"], read_image(hp), scale) for hp in list_images(hr_dir)]
    return sum(vals) / len(vals), outs


@pytest.mark.skipif(not ARM_PPM or not shutil.which("qemu-aarch64"),
                    reason="SCALES_ARM_PPM_UPSCALE not set (scripts/test cross-builds and sets it) or no qemu-aarch64")
@pytest.mark.parametrize("model", ARM_MODELS, ids=[p.stem for p in ARM_MODELS])
def test_recorded_precision_on_arm64_loses_at_most_002_db(model, bench, tmp_path):
    _, meta = safetensors.load(model)
    if not meta.get("fp_precision", ""):
        pytest.skip(f"{model.name} records no low-precision layer")
    s = int(meta["scale"])
    lr_dir, hr_dir = bench / "Set5" / "LR_bicubic" / f"X{s}", bench / "Set5" / "HR"
    lrs = []
    for p in list_images(lr_dir):
        lrs.append(tmp_path / f"{p.stem}.ppm")
        Image.fromarray(read_rgb(p)).save(lrs[-1])
    ref, ref_out = _arm_psnr(model, lrs, hr_dir, s, tmp_path / "fp32", True)
    got, got_out = _arm_psnr(model, lrs, hr_dir, s, tmp_path / "model", False)
    # The recorded precision did run: some output differs from the fp32 one.
    assert any((got_out[k] != ref_out[k]).any() for k in ref_out), "the recorded precision ran as fp32"
    print(f"{model.name} on arm64 (qemu), Set5: {got:.4f} dB, fp32 {ref:.4f} dB")
    assert ref - got <= MAX_LOSS_DB, f"{model.name} ({meta['fp_precision']}) on arm64, Set5: {got:.3f} dB against fp32 {ref:.3f}"
