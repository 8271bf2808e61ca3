"""The ONNX FP baseline computes what PyTorch computes (onnx_export.py through bench/ort/worker.mjs)."""
import json
import shutil
import subprocess

import numpy as np
import pytest
import torch

from scales_train.onnx_export import export_onnx, main as onnx_main, shape_model
from scales_train.fp_start import load_fp_edsr
from conftest import ROOT

WORKER = ROOT / "bench" / "ort" / "worker.mjs"


def run_worker(requests: list[dict]) -> list[dict]:
    if shutil.which("node") is None or not (WORKER.parent / "node_modules" / "onnxruntime-node").is_dir():
        pytest.fail("ONNX Runtime is not installed: run scripts/setup (npm ci in bench/ort)")
    text = "".join(json.dumps(r) + "\n" for r in requests)
    out = subprocess.run(["node", str(WORKER)], input=text, capture_output=True, text=True, timeout=300, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_onnx_runtime_matches_pytorch(tmp_path, scale):
    model = load_fp_edsr(ROOT / "models" / "reference" / "fp-edsr-x2.safetensors") if scale == 2 else \
        shape_model("fp:2x16", scale, seed=scale)
    onnx = export_onnx(model, tmp_path / "m.onnx")
    torch.manual_seed(1)
    x = torch.rand(1, 3, 21, 34)  # not the export's trace size: the axes are dynamic
    x.numpy().astype(np.float32).tofile(tmp_path / "x.bin")
    [reply] = run_worker([{"model": str(onnx), "width": 34, "height": 21, "threads": 1,
                           "input_file": str(tmp_path / "x.bin"), "output_file": str(tmp_path / "y.bin")}])
    assert reply.get("dims") == [1, 3, 21 * scale, 34 * scale], reply
    got = np.fromfile(tmp_path / "y.bin", dtype=np.float32).reshape(1, 3, 21 * scale, 34 * scale)
    with torch.no_grad():
        ref = model.eval()(x).numpy()
    assert np.abs(got - ref).max() < 1e-4
    assert reply["ms"] > 0


def test_worker_reports_bad_requests_and_keeps_going(tmp_path):
    onnx = export_onnx(shape_model("fp:1x8", 2), tmp_path / "m.onnx")
    replies = run_worker([{"model": str(tmp_path / "none.onnx"), "width": 8, "height": 8, "threads": 1},
                          {"model": str(onnx), "width": 8},
                          {"model": str(onnx), "width": 8, "height": 8, "threads": 1, "input_file": str(onnx)},
                          {"model": str(onnx), "width": 8, "height": 8, "threads": 1}])
    assert "none.onnx" in replies[0]["error"]
    assert "height" in replies[1]["error"]
    assert "float32" in replies[2]["error"]
    assert replies[3]["ms"] > 0


def test_worker_switches_models_and_back(tmp_path):
    """The worker holds one session (a switch releases the other, whose arena can be GBs): a model
    asked for again after another one is loaded anew and computes what it did the first time."""
    a = export_onnx(shape_model("fp:1x8", 2, seed=1), tmp_path / "a.onnx")
    b = export_onnx(shape_model("fp:1x8", 4, seed=2), tmp_path / "b.onnx")
    req = lambda m, out: {"model": str(m), "width": 9, "height": 7, "threads": 1, "output_file": str(tmp_path / out)}
    replies = run_worker([req(a, "a1.bin"), req(b, "b.bin"), req(a, "a2.bin")])
    assert [r.get("dims") for r in replies] == [[1, 3, 14, 18], [1, 3, 28, 36], [1, 3, 14, 18]], replies
    a1, a2 = (np.fromfile(tmp_path / f, dtype=np.float32) for f in ("a1.bin", "a2.bin"))
    assert a1.size == 3 * 14 * 18 and np.array_equal(a1, a2)


def test_binary_networks_are_refused(tmp_path, capsys):
    assert onnx_main(["--shape", "scales:4x32", "--out", str(tmp_path / "b.onnx")]) == 2
    assert "only FP networks" in capsys.readouterr().err


def test_swinir_twin_onnx_matches_pytorch(tmp_path):
    # The FP SwinIR twin scales-bench times in ONNX Runtime (bench/make_swinir_bench.py), small.
    from scales_train.onnx_export import export_swinir_onnx
    from scales_train.swinir import ScalesSwinIR, SwinConfig
    torch.manual_seed(3)
    twin = ScalesSwinIR(SwinConfig.from_variant("fp", 2, channels=12, groups=1, depth=2, heads=2, window=4,
                                                 mlp_ratio=2)).eval()
    size = 13  # not a multiple of the window: the padding is in the graph
    onnx = export_swinir_onnx(twin, tmp_path / "swinir.onnx", size)
    x = torch.rand(1, 3, size, size)
    x.numpy().astype(np.float32).tofile(tmp_path / "x.bin")
    [reply] = run_worker([{"model": str(onnx), "width": size, "height": size, "threads": 1,
                           "input_file": str(tmp_path / "x.bin"), "output_file": str(tmp_path / "y.bin")}])
    assert reply.get("dims") == [1, 3, 2 * size, 2 * size], reply
    got = np.fromfile(tmp_path / "y.bin", dtype=np.float32).reshape(1, 3, 2 * size, 2 * size)
    with torch.no_grad():
        ref = twin(x).numpy()
    assert np.abs(got - ref).max() < 1e-4
    with pytest.raises(ValueError, match="only FP"):
        export_swinir_onnx(ScalesSwinIR(SwinConfig.from_variant("scales", 2, channels=12, groups=1, depth=2,
                                                                 heads=2, window=4, mlp_ratio=2)), tmp_path / "b.onnx", 8)
