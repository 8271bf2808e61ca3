"""Writes the SCALES-SwinIR pair that `scales-bench --swinir-dir DIR` times: the paper's
lightweight size (embedding 60, 4 groups of 6 layers, 6 heads, window 8, MLP ratio 2) with
seeded random weights as an engine model file, and its FP twin (SwinIR, nn.Linear / nn.Conv2d)
as TorchScript traced at the benchmark's input size and as ONNX at the same size (ONNX Runtime,
the faster FP engine on these CPUs; scales-bench times it when the file is there), for x2 and x4.
Random weights: speed does not depend on them (no data-dependent work in either network).

    scripts/py bench/make_swinir_bench.py DIR [--size 128]
"""
import argparse
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))

from scales_train.export import export  # noqa: E402
from scales_train.onnx_export import export_swinir_onnx  # noqa: E402
from scales_train.swinir import ScalesSwinIR, SwinConfig  # noqa: E402

PAPER = dict(channels=60, groups=4, depth=6, heads=6, window=8, mlp_ratio=2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--scales", default="2,4")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for s in (int(v) for v in a.scales.split(",")):
        torch.manual_seed(s)
        model = ScalesSwinIR(SwinConfig.from_variant("scales", s, **PAPER)).eval()
        with torch.no_grad():  # the zero-initialised branches get values too
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.02)
        with tempfile.TemporaryDirectory() as tmp:
            ck = Path(tmp) / "checkpoint.pt"
            torch.save({"config": model.cfg.to_dict(), "model": model.state_dict(), "iteration": 0,
                        "train_seconds": 0.0, "args": {}}, ck)
            print(export(ck, a.out / f"swinir-paper-x{s}.safetensors", None))
        twin = ScalesSwinIR(SwinConfig.from_variant("fp", s, **PAPER)).eval()
        with torch.no_grad():
            traced = torch.jit.trace(twin, torch.rand(1, 3, a.size, a.size))
        path = a.out / f"swinir-paper-x{s}-fp-{a.size}.torchscript.pt"
        traced.save(str(path))
        print(path)
        print(export_swinir_onnx(twin, a.out / f"swinir-paper-x{s}-fp-{a.size}.onnx", a.size))


if __name__ == "__main__":
    main()
