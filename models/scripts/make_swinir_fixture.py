"""Writes the SCALES-SwinIR test fixture of the C++ parity tests: a small x3 network with seeded
random weights (not trained; it exercises every layer: binary linears of all three residual
shapes, shifted windows, a window-padded odd input), its model file, TorchScript oracle and golden
tensors, into tests/golden/.

    scripts/py models/scripts/make_swinir_fixture.py
"""
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "models"))

from scales_train.export import export  # noqa: E402
from scales_train.swinir import ScalesSwinIR, SwinConfig  # noqa: E402


def main() -> None:
    torch.manual_seed(7)
    model = ScalesSwinIR(SwinConfig.from_variant("scales", 3, 16, 2, 2, 2, 8)).eval()
    with torch.no_grad():  # the zero-initialised re-scaling branches get values too
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    golden = ROOT / "tests" / "golden"
    ck = golden / "swinir-fixture-x3.checkpoint.pt"
    torch.save({"config": model.cfg.to_dict(), "model": model.state_dict(), "iteration": 0, "train_seconds": 0.0,
                "args": {}}, ck)
    try:
        print(export(ck, golden / "swinir-fixture-x3.safetensors", golden))
    finally:
        ck.unlink()


if __name__ == "__main__":
    main()
