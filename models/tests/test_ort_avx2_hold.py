"""bench/ort/hold_to_avx2.py: a copy of ONNX Runtime that runs its AVX2 code, computing what the installed one does.

The copy is the AVX2 baseline of docs/benchmarks.md on an AVX-512 machine. A copy that computed
something else, or that the worker did not load, would make that baseline time nothing.
"""
import importlib.util
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch

from scales_train.onnx_export import export_onnx, shape_model
from conftest import ROOT

ORT = ROOT / "bench" / "ort"
LIB = "bin/napi-v6/linux/x64/libonnxruntime.so.1"


def load_hold():
    spec = importlib.util.spec_from_file_location("hold_to_avx2", ORT / "hold_to_avx2.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


hold_to_avx2 = load_hold()


def cpu_flags() -> set[str]:
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    if os.uname().machine != "x86_64":
        pytest.skip("the held copy is of the x86-64 library")
    if shutil.which("node") is None or not (ORT / "node_modules" / "onnxruntime-node" / LIB).is_file():
        pytest.fail("ONNX Runtime is not installed: run scripts/setup (npm ci in bench/ort)")
    out = tmp_path_factory.mktemp("ort-avx2")
    return hold_to_avx2.hold(ORT / "node_modules", out)


def run(requests: list[dict], module: str | None = None) -> list[dict]:
    env = dict(os.environ)
    env.pop("SCALES_ORT_MODULE", None)
    if module:
        env["SCALES_ORT_MODULE"] = module
    text = "".join(json.dumps(r) + "\n" for r in requests)
    out = subprocess.run(["node", str(ORT / "worker.mjs")], input=text, capture_output=True, text=True,
                         timeout=300, check=True, env=env)
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_only_the_xgetbv_instructions_change(held):
    before = (ORT / "node_modules" / "onnxruntime-node" / LIB).read_bytes()
    after = open(held["library"], "rb").read()
    assert len(before) == len(after)
    segments = hold_to_avx2.load_segments(after)
    offsets = [hold_to_avx2.file_offset(segments, int(a, 16)) for a in held["xgetbv_sites"]]
    assert offsets, held
    for at in offsets:
        assert before[at:at + 3] == bytes([0x0F, 0x01, 0xD0])  # xgetbv
        assert after[at:at + 3] == bytes([0xB0, 0x07, 0x90])  # mov al, 7; nop
    diff = np.flatnonzero(np.frombuffer(before, np.uint8) != np.frombuffer(after, np.uint8))
    assert diff.tolist() == sorted(at + i for at in offsets for i in range(3))


def test_the_held_copy_computes_what_the_installed_one_does(held, tmp_path):
    onnx = export_onnx(shape_model("fp:2x32", 2, seed=5), tmp_path / "m.onnx")
    torch.manual_seed(2)
    torch.rand(1, 3, 19, 37).numpy().astype(np.float32).tofile(tmp_path / "x.bin")

    def req(out):
        return {"model": str(onnx), "width": 37, "height": 19, "threads": 1,
                "input_file": str(tmp_path / "x.bin"), "output_file": str(tmp_path / out)}

    [a] = run([req("installed.bin")])
    [b] = run([req("held.bin")], module=held["module"])
    assert a.get("dims") == b.get("dims") == [1, 3, 38, 74], (a, b)
    ya = np.fromfile(tmp_path / "installed.bin", dtype=np.float32)
    yb = np.fromfile(tmp_path / "held.bin", dtype=np.float32)
    assert np.abs(ya - yb).max() < 1e-4
    if "avx512f" in cpu_flags():
        # MLAS's AVX-512 convs work on blocks of 16 channels and its AVX2 ones on blocks of 8, so
        # the sums round differently: identical bits would mean the copy ran the AVX-512 code.
        assert not np.array_equal(ya, yb)


def test_a_missing_module_stops_the_worker(tmp_path):
    env = dict(os.environ, SCALES_ORT_MODULE=str(tmp_path / "none"))
    out = subprocess.run(["node", str(ORT / "worker.mjs")], input="", capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode != 0
    assert str(tmp_path / "none") in out.stderr
