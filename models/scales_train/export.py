"""Export a trained network (either architecture): the model file, its TorchScript oracle and
golden tensors.

    scripts/py -m scales_train.export --checkpoint runs/x2/checkpoint.pt \
        --out models/weights/scales-edsr-x2.safetensors [--oracle-dir tests/golden]

Writes
  OUT                               model file (docs/model-format.md): binary weights bit-packed
  ORACLE/<stem>.torchscript.pt      TorchScript of the inference network built from OUT; takes
                                    (N, 3, h, w) float32 RGB in [0, 1], returns (N, 3, sh, sw)
  ORACLE/<stem>.golden.safetensors  'input' (1, 3, 20, 24) and 'output' float32: a crop of Set5's
                                    butterfly LR image and the oracle's output for it
The exporter re-reads OUT and checks that it reproduces the checkpoint's output exactly.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import safetensors
from .eval import DEFAULT_DATA
from .imageio import read_rgb
from .inference import load_inference
from .modelfile import save_model
from .checkpoint import core_hours, gpu_hours, load_checkpoint_model, read_checkpoint
from .scale_start import work_behind

GOLDEN_HW = (20, 24)


def golden_input(scale: int, data: Path = DEFAULT_DATA) -> torch.Tensor:
    lr = read_rgb(data / "Set5" / "LR_bicubic" / f"X{scale}" / f"butterflyx{scale}.png")
    h, w = GOLDEN_HW
    crop = lr[10:10 + h, 13:13 + w]
    return torch.from_numpy(crop.astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def layer_outputs_swinir(infer, x: torch.Tensor) -> dict[str, np.ndarray]:
    """SwinIR's intermediate maps, NCHW float32 on the window-padded grid: layer.conv_first and
    layer.groups.<g> (each group's output tokens, after its residual, as a map)."""
    from .swinir import pad_to_window
    xp = pad_to_window(x, infer.window)
    n, h, w = xp.shape[0], xp.shape[2], xp.shape[3]
    outs: dict[str, np.ndarray] = {}

    def keep(name):
        return lambda _m, _inp, out: outs.__setitem__(
            name, out.detach().transpose(1, 2).reshape(n, -1, h, w).numpy().copy())

    hooks = [g.register_forward_hook(keep(f"layer.groups.{i}")) for i, g in enumerate(infer.groups)]
    with torch.no_grad():
        infer(x)
        outs["layer.conv_first"] = F.conv2d(xp - infer.rgb_mean, infer.conv_first_w, infer.conv_first_b,
                                            padding=1).numpy()
    for hk in hooks:
        hk.remove()
    return outs


def layer_outputs(infer, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Intermediate feature maps of the oracle on x, for layer-level parity in the C++ engine:
    layer.head (head conv), layer.blocks.<i> (each block's output), layer.body_end (the body end's
    residual conv, before the long skip). NCHW float32."""
    if hasattr(infer, "groups"):
        return layer_outputs_swinir(infer, x)
    outs: dict[str, np.ndarray] = {}

    def keep(name):
        return lambda _m, _inp, out: outs.__setitem__(name, out.detach().numpy().copy())

    hooks = [blk.register_forward_hook(keep(f"layer.blocks.{i}")) for i, blk in enumerate(infer.blocks)]
    hooks.append(infer.body_end.register_forward_hook(keep("layer.body_end")))
    with torch.no_grad():
        infer(x)
        outs["layer.head"] = F.conv2d(x - infer.rgb_mean, infer.head_w, infer.head_b, padding=1).numpy()
    for h in hooks:
        h.remove()
    return outs


def export(checkpoint: Path, out: Path, oracle_dir: Path | None, data: Path = DEFAULT_DATA) -> dict:
    ck = read_checkpoint(checkpoint)
    cfg, model = load_checkpoint_model(checkpoint)
    args = ck.get("args", {})
    extra = {
        "iterations": str(ck.get("iteration", 0)),
        "train_seconds": f"{ck.get('train_seconds', 0.0):.0f}",
        "train_data": "T91+BSD200 (291 images), LR by MATLAB-compatible bicubic",
        "patch": str(args.get("patch", "")), "batch": str(args.get("batch", "")),
        "seed": str(args.get("seed", "")), "lr": str(args.get("lr", "")), "warmup": str(args.get("warmup", 100)),
    }
    if ck.get("segments"):  # runs from the cumulative trainer record their stretches
        start_gpu = 0.0  # GPU-hours of the run this one started from (--init-scale-from), if any
        extra["core_hours"] = f"{core_hours(ck['segments']):.2f}"
        extra["segments"] = str(len(ck["segments"]))
        extra["cpus"] = "; ".join(sorted({sg["cpu"] for sg in ck["segments"] if sg.get("device", "cpu") != "cuda"}))
        gpus = sorted({sg["gpu"] for sg in ck["segments"] if sg.get("device") == "cuda"})
        if gpus:
            extra["gpus"] = "; ".join(gpus)
        if args.get("init_from"):
            extra["init_from"] = Path(args["init_from"]).name
        if args.get("teacher"):
            extra["teacher"] = Path(args["teacher"]).name
        if args.get("init_scale_from"):  # scale_start.py: the start's work is part of this model's
            src = Path(args["init_scale_from"])
            start_it, start_hours = args.get("start_iterations"), args.get("start_core_hours")
            start_gpu = args.get("start_gpu_hours") or 0.0
            if start_it is None or start_hours is None:
                # Checkpoints resumed before train.py carried these: the start's own checkpoint.
                if not src.is_file():
                    raise SystemExit(f"error: the run started from {src}, which is gone: its iterations and "
                                     "core-hours are unknown")
                try:
                    start_it, start_hours, start_gpu = work_behind(read_checkpoint(src))
                except ValueError as e:
                    raise SystemExit(f"error: {e}") from e
            extra["init_scale_from"] = f"{src.parent.name}@{start_it}"
            extra["iterations"] = str(ck.get("iteration", 0) + start_it)
            extra["core_hours"] = f"{core_hours(ck['segments']) + start_hours:.2f}"
        hours_gpu = gpu_hours(ck["segments"]) + start_gpu
        if hours_gpu:
            extra["gpu_hours"] = f"{hours_gpu:.3f}"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(out, model, extra)
    _, infer, _ = load_inference(out)
    x = golden_input(cfg.scale, data)
    with torch.no_grad():
        ref, got = model(x), infer(x)
    if not torch.equal(ref, got):
        raise RuntimeError(f"{out}: re-read model differs from the checkpoint (max |diff| "
                           f"{(ref - got).abs().max().item():.3g})")
    result = {"model": str(out)}
    if oracle_dir is not None:
        oracle_dir.mkdir(parents=True, exist_ok=True)
        ts = torch.jit.script(infer)
        ts_path = oracle_dir / f"{out.stem}.torchscript.pt"
        ts.save(str(ts_path))
        with torch.no_grad():
            y = ts(x)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        gold = oracle_dir / f"{out.stem}.golden.safetensors"
        safetensors.save(gold, {"input": x.numpy(), "output": y.numpy(), **layer_outputs(infer, x)},
                         {"model": out.name, "model_sha256": digest, "source": "Set5 butterfly LR crop"})
        result.update(torchscript=str(ts_path), golden=str(gold))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.export", description="Export a trained SCALES network.")
    ap.add_argument("--checkpoint", required=True, help="training checkpoint (.pt)")
    ap.add_argument("--out", required=True, help="model file to write (.safetensors)")
    ap.add_argument("--oracle-dir", default="tests/golden",
                    help="folder for the TorchScript oracle and golden tensors ('' to skip)")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="benchmark folder (golden input)")
    a = ap.parse_args(argv)
    if not a.out.endswith(".safetensors"):
        print("error: --out must end in .safetensors", file=sys.stderr)
        return 2
    try:
        res = export(Path(a.checkpoint), Path(a.out), Path(a.oracle_dir) if a.oracle_dir else None, Path(a.data))
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for k, v in res.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
