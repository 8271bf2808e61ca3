"""Training speed on this CPU: iterations per second and per core-hour, before and after each change.

    scripts/py -m scales_train.train_speed --models scales:4x32,scales:8x64,fp:8x64 --rounds 3 \
        --seconds 15 [--json OUT.json]

Each configuration runs in its own process (a fresh thread pool each time) on real training
batches (data.PatchSampler), and the configurations alternate round by round, so that a machine
whose speed drifts (shared cloud cores) touches all of them alike; medians over rounds are printed.
"before" is the trainer as the first models were made: NCHW, autograd over the binary conv's
reference form, fp32, one thread per run with two runs side by side (one per core); its
iterations per core-hour add up both runs. Every other configuration is one run on both cores.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# (label, threads, channels_last, fused, bf16, processes side by side)
CONFIGS = [
    ("before: 2 runs x 1 thread, NCHW, autograd, fp32", 1, "off", "off", "off", 2),
    ("1 run x 2 threads, NCHW, autograd, fp32", 2, "off", "off", "off", 1),
    ("+ channels_last", 2, "on", "off", "off", 1),
    ("+ fused binary conv step", 2, "on", "on", "off", 1),
    ("+ bf16 autocast", 2, "on", "on", "on", 1),
    ("2 runs x 1 thread, channels_last, fused, bf16", 1, "on", "on", "on", 2),
]


def worker(a) -> int:
    import torch
    import torch.nn.functional as F

    from . import layers
    from .arch import build
    from .data import DEFAULT_TRAIN, PatchSampler
    from .edsr import ModelConfig

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    layers.set_fused(a.fused == "on")
    fmt = torch.channels_last if a.channels_last == "on" else torch.contiguous_format
    variant, size = a.model.split(":")
    blocks, channels = (int(v) for v in size.split("x"))
    model = build(ModelConfig.from_variant(variant, a.scale, blocks, channels)).to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.99))
    sampler = PatchSampler(a.train_data or DEFAULT_TRAIN, a.scale, a.patch, 0)

    def step():
        lr_np, hr_np = sampler.batch(a.batch)
        x = torch.from_numpy(lr_np).contiguous(memory_format=fmt)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16 == "on"):
            out = model(x)
        loss = F.l1_loss(out.float(), torch.from_numpy(hr_np))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    times, end = [], time.time() + a.seconds
    while time.time() < end or len(times) < 3:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(json.dumps({"ms_per_it": 1000 * statistics.median(times), "iterations": len(times)}), flush=True)
    return 0


def run_config(a, model: str, cfg) -> float:
    """Total iterations per second of the config's processes, run side by side."""
    _, threads, cl, fused, bf16, procs = cfg
    cmd = [sys.executable, "-m", "scales_train.train_speed", "--worker", "--model", model, "--scale", str(a.scale),
           "--patch", str(a.patch), "--batch", str(a.batch), "--seconds", str(a.seconds),
           "--threads", str(threads), "--channels-last", cl, "--fused", fused, "--bf16", bf16]
    if a.train_data:
        cmd += ["--train-data", a.train_data]
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=os.environ) for _ in range(procs)]
    total = 0.0
    for p in ps:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"worker failed: {' '.join(cmd)}")
        total += 1000.0 / json.loads(out.strip().splitlines()[-1])["ms_per_it"]
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.train_speed", description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="scales:4x32,scales:8x64,fp:8x64",
                    help="comma list of VARIANT:BLOCKSxCHANNELS (EDSR)")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--patch", type=int, default=48)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=15, help="timed seconds per configuration and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train-data", default="")
    ap.add_argument("--configs", default="", help="comma list of configuration numbers (1-based; default all)")
    ap.add_argument("--json", default="", help="write the medians here too")
    # worker mode (one configuration, one process)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="scales:4x32", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--channels-last", default="off", help=argparse.SUPPRESS)
    ap.add_argument("--fused", default="off", help=argparse.SUPPRESS)
    ap.add_argument("--bf16", default="off", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker(a)

    from .checkpoint import cpu_has_bf16, cpu_name
    picked = [CONFIGS[int(i) - 1] for i in a.configs.split(",")] if a.configs else CONFIGS
    configs = [c for c in picked if c[4] == "off" or cpu_has_bf16()]
    cpu = cpu_name()
    print(f"CPU: {cpu}; AVX512-BF16: {'yes' if cpu_has_bf16() else 'no'}; x{a.scale}, batch {a.batch} of "
          f"{a.patch}x{a.patch} LR patches; medians of {a.rounds} rounds of {a.seconds:g} s", flush=True)
    results = {}
    for model in a.models.split(","):
        rates = {c[0]: [] for c in configs}
        for r in range(a.rounds):
            for c in configs:
                rates[c[0]].append(run_config(a, model, c))
                print(f"  {model} round {r + 1} {c[0]}: {rates[c[0]][-1]:.3f} it/s", flush=True)
        base = statistics.median(rates[configs[0][0]]) / 2  # per core
        rows = []
        for c in configs:
            ips = statistics.median(rates[c[0]])
            per_core_hour = ips * 3600 / 2  # both cores busy in every configuration
            rows.append({"config": c[0], "it_per_s": ips, "it_per_core_hour": per_core_hour,
                         "vs_before": ips / 2 / base, "rounds": rates[c[0]]})
        results[model] = rows
        print(f"\n| {model} | it/s (both cores) | iterations per core-hour | vs before |\n|---|---|---|---|")
        for row in rows:
            print(f"| {row['config']} | {row['it_per_s']:.2f} | {row['it_per_core_hour']:.0f} | "
                  f"{row['vs_before']:.2f}x |")
        print(flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"cpu": cpu, "bf16": cpu_has_bf16(), "scale": a.scale,
                                            "batch": a.batch, "patch": a.patch, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
