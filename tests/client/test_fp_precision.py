"""The bundled models' recorded FP precisions (metadata fp_precision: int8 / bf16 layers, chosen by
scales_train.precision_gate) lose at most 0.02 dB against the same engine in fp32, on Set5, Set14
and B100, through `scales-upscale --local`, on whatever CPU runs the test (the int8 and bf16 paths
differ per ISA: VNNI, AVX2, AVX512-BF16, NEON).
"""
import os
import subprocess

import pytest

from scales_train import safetensors
from scales_train.imageio import list_images, read_image
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
