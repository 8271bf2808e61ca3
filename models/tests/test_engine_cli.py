"""The C++ engine, through `scales-upscale --local`, scores like the PyTorch model on Set5.

scripts/test builds the CLI and sets SCALES_UPSCALE to its path; run alone, pytest skips these
tests visibly.
"""
import json
import os
import subprocess

import pytest

from scales_sr import metrics

from conftest import WEIGHTS

CLI = os.environ.get("SCALES_UPSCALE")
MODELS = sorted(p for p in WEIGHTS.glob("*.safetensors")) if WEIGHTS.is_dir() else []


@pytest.mark.skipif(not CLI, reason="SCALES_UPSCALE not set (scripts/test builds and sets it)")
@pytest.mark.parametrize("model", MODELS, ids=[p.stem for p in MODELS])
def test_engine_set5_psnr_matches_the_model_card(model, bench, tmp_path):
    card = json.loads(model.with_suffix(".eval.json").read_text())
    s = card["scale"]
    out = tmp_path / "sr"
    r = subprocess.run([CLI, "--local", "-m", str(model), "-o", str(out),
                        str(bench / "Set5" / "LR_bicubic" / f"X{s}")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "[5/5]" in r.stderr
    j = tmp_path / "m.json"
    assert metrics.main(["--pred", str(out), "--hr", str(bench / "Set5" / "HR"), "--scale", str(s),
                         "--json", str(j)]) == 0
    got = json.loads(j.read_text())["psnr"]
    assert abs(got - card["sets"]["Set5"]["psnr"]) <= 0.01


@pytest.mark.skipif(not CLI, reason="SCALES_UPSCALE not set (scripts/test builds and sets it)")
def test_cli_reports_bad_inputs(tmp_path):
    model = MODELS[0]
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (bad / "sub").mkdir()
    r = subprocess.run([CLI, "--local", "-m", str(model), "-o", str(tmp_path / "out"), str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "broken.png" in r.stderr and "cannot decode" in r.stderr
    r = subprocess.run([CLI, "--local", "-m", str(model), "-o", str(tmp_path / "out"), str(tmp_path / "none")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no such file" in r.stderr
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 4)
    r = subprocess.run([CLI, "--local", "-m", str(junk), "-o", str(tmp_path / "out"), str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "too short" in r.stderr
