"""The released models: their scores, cards and golden files agree with the model files."""
import hashlib
import json

import pytest

from conftest import GOLDEN, WEIGHTS
from scales_sr import safetensors
from scales_sr.eval import evaluate
from scales_sr.modelfile import read_model
from scales_sr.swinir import SwinConfig

MODELS = sorted(WEIGHTS.glob("*.safetensors")) if WEIGHTS.is_dir() else []


def test_there_are_released_models():
    assert {p.stem for p in MODELS} >= {"scales-edsr-x2", "scales-edsr-x4"}


@pytest.mark.parametrize("model", MODELS, ids=[p.stem for p in MODELS])
def test_eval_reproduces_the_recorded_scores_and_card(model, bench):
    rec = json.loads(model.with_suffix(".eval.json").read_text())
    got = evaluate(str(model), ["Set5", "Set14"], rec["scale"], bench)
    card = model.with_suffix(".md").read_text()
    # SwinIR's matmuls and LayerNorms reduce in an order that depends on PyTorch's thread count, and
    # a binary layer can turn a last-bit difference into a sign flip: measured 4e-6 dB on Set5
    # between 2 threads (the recorded eval) and this run. EDSR reproduces to the last digit.
    cfg, _, _ = read_model(model)
    tol = 1e-4 if isinstance(cfg, SwinConfig) else 1e-6
    for s in ("Set5", "Set14"):
        assert got["sets"][s]["psnr"] == pytest.approx(rec["sets"][s]["psnr"], abs=tol)
        assert got["sets"][s]["ssim"] == pytest.approx(rec["sets"][s]["ssim"], abs=tol)
    for s in ("Set5", "Set14", "B100"):
        assert f"{rec['sets'][s]['psnr']:.2f} / {rec['sets'][s]['ssim']:.4f}" in card
    # Clearly better than bicubic.
    bic = evaluate("bicubic", ["Set5"], rec["scale"], bench)["sets"]["Set5"]["psnr"]
    assert rec["sets"]["Set5"]["psnr"] > bic + 0.5


@pytest.mark.parametrize("model", MODELS, ids=[p.stem for p in MODELS])
def test_golden_files_belong_to_the_model(model):
    _, meta = safetensors.load(GOLDEN / f"{model.stem}.golden.safetensors")
    assert meta["model"] == model.name
    assert meta["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert (GOLDEN / f"{model.stem}.torchscript.pt").is_file()
