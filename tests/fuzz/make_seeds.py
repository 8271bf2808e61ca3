"""Writes the fuzzer's seed corpus: tiny but valid model files (one per variant family), so
libFuzzer starts from inputs that pass the header checks and mutates its way into the tensors.

    scripts/py tests/fuzz/make_seeds.py tests/fuzz/corpus
"""
import sys
from pathlib import Path

import torch

from scales_train.edsr import ModelConfig, ScalesEDSR
from scales_train.modelfile import save_model


def main(out: str) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for variant, scale, blocks, channels in [("scales", 2, 1, 4), ("plain", 4, 0, 4), ("fp", 3, 1, 4),
                                             ("plain+spatial+channel", 2, 1, 8)]:
        net = ScalesEDSR(ModelConfig.from_variant(variant, scale, blocks, channels))
        name = f"{variant.replace('+', '_')}-x{scale}-b{blocks}c{channels}.safetensors"
        save_model(Path(out) / name, net)


if __name__ == "__main__":
    main(sys.argv[1])
