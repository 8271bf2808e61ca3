"""FP EDSR networks as ONNX files: the model a user of FP super-resolution would run in ONNX Runtime,
which is the speed baseline beside the engine (bench/ort/worker.mjs, scales-latency --onnx-dir).

    scripts/py -m scales_train.onnx_export --model models/reference/fp-edsr-x2.safetensors --out fp-x2.onnx
    scripts/py -m scales_train.onnx_export --checkpoint RUN/checkpoint.pt --out fp.onnx
    scripts/py -m scales_train.onnx_export --shape fp:4x32 --scale 2 --out fp-x2-b4c32.onnx   # random weights
    scripts/py -m scales_train.onnx_export --front-dir DIR --shapes 3x16,4x32 --scales 2,4  # DIR/fp-x<S>-b<B>c<C>.onnx

Input "lr": float32 (1, 3, H, W) RGB in [0, 1]; output "sr": (1, 3, sH, sW), unclipped, as the
PyTorch network computes it. H and W are dynamic. Only FP networks: binary SCALES layers have no
ONNX operator that runs them as bit operations, so exporting them would time float emulation.
Latency depends on a network's shape, not its weights, so the front's ONNX files use random
weights of each shape (--shape, --front-dir), as scales-latency does for the engine.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .edsr import ModelConfig, ScalesEDSR
from .fp_start import load_fp_edsr

OPSET = 13


def export_onnx(model: ScalesEDSR, out: str | Path) -> Path:
    if model.cfg.binary:
        raise ValueError("only FP networks export to ONNX (see the module doc)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().to(memory_format=torch.contiguous_format)
    x = torch.rand(1, 3, 24, 20)
    with torch.no_grad():
        torch.onnx.export(model, x, str(out), input_names=["lr"], output_names=["sr"], opset_version=OPSET,
                          dynamic_axes={"lr": {2: "height", 3: "width"}, "sr": {2: "out_height", 3: "out_width"}},
                          do_constant_folding=True)
    return out


def export_swinir_onnx(model: torch.nn.Module, out: str | Path, size: int) -> Path:
    """An FP SwinIR (scales_train.swinir, variant fp) at a fixed size x size input: its window
    padding depends on the input size, so the graph is traced for one size (the benchmark's)."""
    if model.cfg.binary:
        raise ValueError("only FP networks export to ONNX (see the module doc)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model.eval(), torch.rand(1, 3, size, size), str(out), input_names=["lr"],
                          output_names=["sr"], opset_version=OPSET, do_constant_folding=True)
    return out


def shape_model(text: str, scale: int, seed: int = 0) -> ScalesEDSR:
    """'fp:BLOCKSxCHANNELS' with random weights."""
    variant, _, size = text.partition(":")
    try:
        b, c = (int(v) for v in size.split("x"))
    except ValueError:
        raise ValueError(f"expected fp:BLOCKSxCHANNELS, got '{text}'") from None
    torch.manual_seed(seed)
    return ScalesEDSR(ModelConfig.from_variant(variant, scale, b, c))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.onnx_export", description="Export FP EDSR networks to ONNX.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="FP model file (.safetensors)")
    src.add_argument("--checkpoint", help="FP training checkpoint (.pt)")
    src.add_argument("--shape", help="fp:BLOCKSxCHANNELS with random weights (needs --scale)")
    src.add_argument("--front-dir", help="write DIR/fp-x<S>-b<B>c<C>.onnx for every --shapes x --scales")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--shapes", default="3x16,4x24,4x32,6x48", help="BLOCKSxCHANNELS list for --front-dir")
    ap.add_argument("--scales", default="2,4", help="scale list for --front-dir")
    ap.add_argument("--out", help="ONNX file to write")
    a = ap.parse_args(argv)
    try:
        if a.front_dir:
            for s in (int(v) for v in a.scales.split(",")):
                for shape in a.shapes.split(","):
                    b, c = shape.split("x")
                    path = export_onnx(shape_model(f"fp:{shape}", s), Path(a.front_dir) / f"fp-x{s}-b{b}c{c}.onnx")
                    print(path)
            return 0
        if not a.out:
            raise ValueError("--out is required")
        model = shape_model(a.shape, a.scale) if a.shape else load_fp_edsr(a.model or a.checkpoint)
        print(export_onnx(model, a.out))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
