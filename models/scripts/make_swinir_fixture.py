"""Writes the SCALES-SwinIR test fixtures of the C++ parity tests into tests/golden/: small
networks with seeded random weights (not trained), each with its model file, TorchScript oracle
and golden tensors.

- swinir-fixture-x3: binary, x3; it exercises every layer: binary linears of all three residual
  shapes, shifted windows, a window-padded odd input.
- swinir-fp-fixture-x2: the FP twin's layout (FP linears, FP group convs), x2: the engine's FP
  SwinIR path (oneDNN linears, the LayerNorm read by the linear, oneDNN's GELU).

    scripts/py models/scripts/make_swinir_fixture.py [NAME ...]    (default: both)
"""
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "models"))

from scales_train.export import export  # noqa: E402
from scales_train.swinir import ScalesSwinIR, SwinConfig  # noqa: E402

FIXTURES = {  # name: (variant, scale, seed)
    "swinir-fixture-x3": ("scales", 3, 7),
    "swinir-fp-fixture-x2": ("fp", 2, 8),
}


def write(name: str) -> None:
    variant, scale, seed = FIXTURES[name]
    torch.manual_seed(seed)
    model = ScalesSwinIR(SwinConfig.from_variant(variant, scale, 16, 2, 2, 2, 8)).eval()
    with torch.no_grad():  # the zero-initialised re-scaling branches get values too
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    golden = ROOT / "tests" / "golden"
    ck = golden / f"{name}.checkpoint.pt"
    torch.save({"config": model.cfg.to_dict(), "model": model.state_dict(), "iteration": 0, "train_seconds": 0.0,
                "args": {}}, ck)
    try:
        print(export(ck, golden / f"{name}.safetensors", golden))
    finally:
        ck.unlink()


def main() -> None:
    for name in sys.argv[1:] or list(FIXTURES):
        write(name)


if __name__ == "__main__":
    main()
