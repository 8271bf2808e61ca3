"""Choose the precision of a model's FP convs by measured quality, and record it in the model file.

    scripts/py -m scales_train.precision_gate --model FILE --cli build/client/scales-upscale
        [--sets Set5,Set14,B100] [--max-loss 0.02] [--write]

The model file must be calibrated first (scales_train.calibrate). Each candidate is written to a
temporary copy with metadata `fp_precision` and run through the C++ engine itself (scales-upscale
--local) on the sets' official LR files; its Y PSNR is compared with the same engine forced to fp32
(--fp-precision fp32). The first candidate whose loss is at most --max-loss dB on every set wins,
in this order (cheapest first): every calibrated conv int8; int8 except the last conv (the one that
writes RGB) in bf16; every one bf16; none (fp32). int8 is measured on this CPU's oneDNN path and, on
a CPU with AVX-512, also on the AVX2 path (ONEDNN_MAX_CPU_ISA=AVX2), whose int8 weights lose a
bit, so the choice holds on AVX2-only machines too. bf16 is measured only where this CPU has
AVX512-BF16 (else skipped: the engine runs it in fp32 anyway). With --write the winner goes into
the model file (`fp_precision`, and `fp_precision_gate`: the losses measured).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import safetensors
from .imageio import list_images, read_image
from .metrics import psnr_y

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmark"


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def candidates(convs: list[str], last: str) -> list[dict[str, str]]:
    all8 = {p: "int8" for p in convs}
    mixed = {p: ("bf16" if p == last else "int8") for p in convs}
    return [all8, mixed, {p: "bf16" for p in convs}]


def encode(choice: dict[str, str]) -> str:
    return ",".join(f"{p}={v}" for p, v in sorted(choice.items()))


def run_cli(cli: str, model: Path, lr_dir: Path, out: Path, fp32: bool, env_extra: dict[str, str]) -> None:
    cmd = [cli, "--local", "-m", str(model), "-i", str(lr_dir), "-o", str(out), "--threads", "2"]
    if fp32:
        cmd += ["--fp-precision", "fp32"]
    env = {**os.environ, **env_extra}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-400:]}")


def set_psnr(out: Path, hr_dir: Path, scale: int) -> float:
    vals = []
    for hp in list_images(hr_dir):
        pred = out / f"{hp.stem}x{scale}.png"
        vals.append(psnr_y(read_image(pred), read_image(hp), scale))
    return sum(vals) / len(vals)


def measure(cli: str, model: Path, data: Path, sets: list[str], scale: int, work: Path, fp32: bool,
            env_extra: dict[str, str]) -> dict[str, float]:
    res = {}
    for s in sets:
        out = work / s
        run_cli(cli, model, data / s / "LR_bicubic" / f"X{scale}", out, fp32, env_extra)
        res[s] = set_psnr(out, data / s / "HR", scale)
    return res


def gate(model: Path, cli: str, data: Path, sets: list[str], max_loss: float, log=print) -> tuple[dict, dict]:
    tensors, meta = safetensors.load(model)
    convs = sorted(k[: -len(".input_absmax")] for k in tensors if k.endswith(".input_absmax"))
    if not convs:
        raise ValueError(f"{model}: not calibrated (no .input_absmax tensors; run scales_train.calibrate)")
    scale = int(meta["scale"])
    last = "up" if meta.get("architecture") == "scales-swinir" else "tail"  # the conv that writes RGB
    flags = cpu_flags()
    isas = [("native", {})]
    if "avx512f" in flags:
        isas.append(("avx2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}))
    has_bf16 = "avx512_bf16" in flags or "amx_bf16" in flags
    report = {"sets": sets, "candidates": []}
    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        base = {isa: measure(cli, model, data, sets, scale, td / f"fp32-{isa}", True, env) for isa, env in isas}
        for cand in candidates(convs, last):
            kinds = set(cand.values())
            if "bf16" in kinds and not has_bf16:
                log(f"skip {encode(cand)}: this CPU has no AVX512-BF16 to measure bf16 on")
                continue
            m = td / "candidate.safetensors"
            safetensors.save(m, tensors, {**meta, "fp_precision": encode(cand)})
            losses = {}
            for isa, env in isas:
                if isa != "native" and "int8" not in kinds:
                    continue  # bf16 runs only natively (elsewhere it is fp32, lossless)
                got = measure(cli, m, data, sets, scale, td / f"cand-{isa}", False, env)
                losses[isa] = {s: round(base[isa][s] - got[s], 4) for s in sets}
            worst = max(v for per in losses.values() for v in per.values())
            ok = worst <= max_loss
            report["candidates"].append({"fp_precision": encode(cand), "loss_db": losses, "pass": ok})
            log(f"{encode(cand):<50} worst loss {worst:+.4f} dB  {'PASS' if ok else 'fail'}  {json.dumps(losses)}")
            if ok:
                return cand, report
    return {}, report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.precision_gate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--cli", required=True, help="scales-upscale (the C++ engine's CLI)")
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--sets", default="Set5,Set14,B100")
    ap.add_argument("--max-loss", type=float, default=0.02, help="dB, on every set (default: %(default)s)")
    ap.add_argument("--write", action="store_true", help="record the choice in the model file")
    a = ap.parse_args(argv)
    try:
        choice, report = gate(Path(a.model), a.cli, Path(a.data), a.sets.split(","), a.max_loss)
    except (ValueError, RuntimeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"chosen: {encode(choice) or 'fp32 (no candidate passed)'}")
    if a.write:
        tensors, meta = safetensors.load(a.model)
        meta = {k: v for k, v in meta.items() if k not in ("fp_precision", "fp_precision_gate")}
        if choice:
            meta["fp_precision"] = encode(choice)
        meta["fp_precision_gate"] = json.dumps(report, separators=(",", ":"))
        safetensors.save(a.model, tensors, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
