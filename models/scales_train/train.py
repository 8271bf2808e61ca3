"""Train a SCALES network (SCALES-EDSR or SCALES-SwinIR, or their FP twin / plain-BNN baseline).

    scripts/py -m scales_train.train --variant scales --scale 2 --blocks 4 --channels 32 \
        --iters 20000 --out runs/x2 [--time-budget SECONDS] [--resume]
    scripts/py -m scales_train.train --arch swinir --variant scales --scale 2 --channels 32 \
        --groups 2 --depth 4 --heads 4 --window 8 --iters 20000 --out runs/swin-x2

L1 loss, Adam, cosine (default) or step schedule over --iters, random crops with flips/rotations
(data.py). Uses CUDA when present (else all CPU cores). Every --val-every iterations it scores Set5
(PSNR on Y) and writes OUT/checkpoint.pt; --resume continues from it exactly (model, optimizer,
schedule, sampler RNG). --stop-at N stops at iteration N keeping the --iters schedule (for runs
split across sessions or device leases). --time-budget stops cleanly with a checkpoint once that much wall time has
been spent in this process. OUT/log.jsonl records every log line; one process trains a folder at a time.

On the CPU the step runs channels_last with the binary conv's fused step (fused.py), and with
--bf16 auto in bf16 autocast where the CPU has AVX512-BF16 (docs/ablation.md, "Training speed").
--init-from starts a binary EDSR from its FP twin (fp_start.py), --teacher distils from an FP EDSR
(distill.py); scales_train.cumulative continues committed runs (docs/training.md).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import layers
from .arch import ARCHITECTURES, build, config_from_dict, describe
from .checkpoint import core_hours, gpu_hours, cpu_has_bf16, cpu_name, read_checkpoint, save_checkpoint
from .data import DEFAULT_TRAIN, PatchSampler
from .distill import Distiller
from .fp_start import init_binary_from_fp, load_fp_edsr
from .scale_start import init_from_other_scale, load_checkpoint_state
from .edsr import ModelConfig
from .layers import ScalesBinaryConv
from .swinir import ScalesBinaryLinear, SwinConfig
from .eval import DEFAULT_DATA
from .imageio import list_images, read_image, read_rgb
from .metrics import psnr_y, to_uint8


def use_bf16(mode: str, device: torch.device) -> bool:
    if mode == "auto":
        return device.type == "cpu" and cpu_has_bf16()
    return mode == "on"


def lr_at(it: int, base: float, iters: int, schedule: str, warmup: int) -> float:
    if it < warmup:
        return base * (it + 1) / warmup
    if schedule == "cosine":
        return 0.5 * base * (1.0 + math.cos(math.pi * min(it, iters) / iters))
    if schedule == "step":  # halve at 50% and 75%
        return base * (0.5 ** (int(it >= iters // 2) + int(it >= 3 * iters // 4)))
    raise ValueError(f"unknown schedule {schedule}")


def scales_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The SCALES parameters of every binary layer: shift, alpha and the re-scaling branches (not
    the binary weights)."""
    out = []
    for m in model.modules():
        if isinstance(m, (ScalesBinaryConv, ScalesBinaryLinear)):
            for name in ("shift", "alpha"):
                if getattr(m, name) is not None:
                    out.append(getattr(m, name))
            for branch in (m.spatial, m.fc1, m.fc2):
                if branch is not None:
                    out.extend(branch.parameters())
    return out


def param_groups(model: torch.nn.Module, branch_lr: float) -> list[dict]:
    """Two Adam groups: the SCALES parameters at branch_lr times the schedule's rate, the rest at it."""
    branch = scales_parameters(model)
    ids = {id(p) for p in branch}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": rest, "lr_mult": 1.0}]
    if branch:
        groups.append({"params": branch, "lr_mult": branch_lr})
    return groups


def validate(model, device, data: Path, scale: int) -> float:
    model.eval()
    vals = []
    with torch.no_grad():
        for hp in list_images(data / "Set5" / "HR"):
            lr = read_rgb(data / "Set5" / "LR_bicubic" / f"X{scale}" / f"{hp.stem}x{scale}.png")
            x = torch.from_numpy(lr.astype(np.float32) / 255.0).permute(2, 0, 1)[None].to(device)
            sr = to_uint8(model(x)[0].float().cpu().numpy())
            vals.append(psnr_y(sr, read_image(hp), scale))
    model.train()
    return float(np.mean(vals))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="scales_train.train", description="Train a SCALES network.")
    ap.add_argument("--arch", default="edsr", choices=ARCHITECTURES)
    ap.add_argument("--variant", default="scales", help="scales | fp | plain | plain+<component>[+...]")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=4, help="EDSR: residual blocks")
    ap.add_argument("--channels", type=int, default=32, help="EDSR: feature channels; SwinIR: embedding width")
    ap.add_argument("--groups", type=int, default=2, help="SwinIR: residual Swin Transformer groups")
    ap.add_argument("--depth", type=int, default=4, help="SwinIR: Swin layers per group")
    ap.add_argument("--heads", type=int, default=4, help="SwinIR: attention heads")
    ap.add_argument("--window", type=int, default=8, help="SwinIR: attention window side")
    ap.add_argument("--mlp-ratio", type=int, default=2, help="SwinIR: MLP hidden width / embedding width")
    ap.add_argument("--linear-residual", default="matched", choices=["matched", "same_width"],
                    help="SwinIR: FP residual on every binary linear (matched) or only on C -> C ones")
    ap.add_argument("--patch", type=int, default=48, help="LR patch size")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=20000, help="schedule length (iterations)")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--branch-lr", type=float, default=1.0,
                    help="learning-rate multiplier for the SCALES parameters (shift, alpha, re-scaling branches)")
    ap.add_argument("--schedule", default="cosine", choices=["cosine", "step"])
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--time-budget", type=float, default=0, help="seconds; stop cleanly when spent (0: none)")
    ap.add_argument("--fit-budget", type=float, default=0,
                    help="seconds from the process's start: at the end of the warm-up, set --iters from the "
                         "measured rate so that the schedule ends within them (for a device lease)")
    ap.add_argument("--stop-at", type=int, default=0,
                    help="stop (with a checkpoint) on reaching this iteration, keeping the --iters schedule")
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--channels-last", default="on", choices=["on", "off"],
                    help="NHWC activations (oneDNN's native layout: 2x faster CPU steps, docs/ablation.md)")
    ap.add_argument("--bf16", default="off", choices=["auto", "on", "off"],
                    help="bf16 autocast for the forward (auto: where the CPU has AVX512-BF16)")
    ap.add_argument("--fused", default="on", choices=["on", "off"],
                    help="the binary conv's one-node training step (fused.py) or autograd over its reference form")
    # Empty: the checkout's ../shared/data (kept empty in checkpoints, so a resumed run finds the
    # data wherever the repository now is).
    ap.add_argument("--train-data", default="", help=f"training images (default {DEFAULT_TRAIN})")
    ap.add_argument("--val-data", default="", help=f"benchmark sets (default {DEFAULT_DATA})")
    ap.add_argument("--init-from", default="",
                    help="EDSR: start the binary network from its FP twin (training checkpoint or FP model file)")
    ap.add_argument("--init-scale-from", default="",
                    help="start from the same network trained at another scale (training checkpoint; "
                         "all but the upsampler) or at this one (everything: a warm restart); scale_start.py")
    ap.add_argument("--teacher", default="",
                    help="EDSR: distil from this FP EDSR (training checkpoint or FP model file); distill.py")
    ap.add_argument("--distill-out", type=float, default=1.0, help="weight of L1(student, teacher)")
    ap.add_argument("--distill-feat", type=float, default=1.0, help="weight of the per-block feature L1")
    ap.add_argument("--out", required=True, help="run folder (checkpoint.pt, log.jsonl)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    return ap


def resume_argv(args: dict, **override) -> list[str]:
    """The command line that continues a run whose checkpoint recorded `args` (its vars(namespace)),
    with `override` (e.g. threads=1, time_budget=3600) and --resume: every option that differs from
    the parser's default, so a later session repeats the run's own settings."""
    ap = build_parser()
    args = {**args, **override, "resume": True}
    argv = []
    for act in ap._actions:
        if not act.option_strings or act.dest == "help" or act.dest not in args:
            continue
        v = args[act.dest]
        if isinstance(act, argparse._StoreTrueAction):
            if v:
                argv.append(act.option_strings[0])
        elif v != act.default and v is not None:
            argv += [act.option_strings[0], str(v)]
    return argv


def main(argv: list[str] | None = None) -> int:
    t_main = time.time()  # --fit-budget counts from here: loading the data is part of the lease
    a = build_parser().parse_args(argv)

    torch.set_num_threads(a.threads or os.cpu_count() or 1)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if a.device == "auto" else a.device))
    if a.fit_budget and a.warmup < 200:
        print("error: --fit-budget needs --warmup 200 or more (the rate is measured during the warm-up)",
              file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed patch shapes: the fastest conv algorithm pays
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    ck_path = out / "checkpoint.pt"
    # One process per run: a second trainer on the same folder would race on its checkpoint and
    # log. The lock is the kernel's (released when the process ends, however it ends).
    lock = open(out / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"error: {out} is being trained by another process", file=sys.stderr)
        return 2
    torch.manual_seed(a.seed)
    try:
        if a.arch == "swinir":
            cfg = SwinConfig.from_variant(a.variant, a.scale, a.channels, a.groups, a.depth, a.heads, a.window,
                                          a.mlp_ratio, a.linear_residual)
        else:
            cfg = ModelConfig.from_variant(a.variant, a.scale, a.blocks, a.channels)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sampler = PatchSampler(a.train_data or DEFAULT_TRAIN, a.scale, a.patch, a.seed)
    layers.set_fused(a.fused == "on")
    fmt = torch.channels_last if a.channels_last == "on" else torch.contiguous_format
    bf16 = use_bf16(a.bf16, device)
    model = build(cfg)
    if a.init_from and not a.resume:
        copied = init_binary_from_fp(model, load_fp_edsr(a.init_from))
        print(f"started from the FP twin {a.init_from} ({len(copied)} tensors)", flush=True)
    if a.init_scale_from and not a.resume:
        try:
            src_cfg, src_state, src_it, src_hours, src_gpu = load_checkpoint_state(a.init_scale_from)
            copied = init_from_other_scale(model, src_cfg, src_state)
        except (OSError, ValueError) as e:
            print(f"error: --init-scale-from: {e}", file=sys.stderr)
            return 2
        # The start's own work counts towards the model's (export.py: iterations and core-hours).
        a.start_iterations, a.start_core_hours, a.start_gpu_hours = src_it, src_hours, src_gpu
        # A start packed for a device lease (pack_device_data.py) names the committed checkpoint it
        # was made from: the model's record points there, not at the lease's copy.
        a.init_scale_from = read_checkpoint(Path(a.init_scale_from)).get("packed_from") or a.init_scale_from
        print(f"started from x{src_cfg.scale} at iteration {src_it}: {a.init_scale_from} ({len(copied)} tensors)",
              flush=True)
    model = model.to(device).to(memory_format=fmt)
    distiller = None
    if a.teacher:
        teacher = load_fp_edsr(a.teacher).to(device).to(memory_format=fmt)
        distiller = Distiller(model, teacher, a.distill_out, a.distill_feat)
    opt = torch.optim.Adam(param_groups(model, a.branch_lr), lr=a.lr, betas=(0.9, 0.99))
    it, train_seconds, history = 0, 0.0, []
    if a.resume:
        if not ck_path.is_file():
            print(f"error: --resume but no checkpoint at {ck_path}", file=sys.stderr)
            return 2
        ck = read_checkpoint(ck_path)
        if ck["config"] != cfg.to_dict():
            print(f"error: checkpoint config {ck['config']} differs from the command's {cfg.to_dict()}", file=sys.stderr)
            return 2
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sampler.set_state(ck["sampler"])
        torch.set_rng_state(ck["torch_rng"])
        it, train_seconds, history = ck["iteration"], ck["train_seconds"], ck["history"]
        segments = ck.get("segments", [])
        # The start's iterations and core-hours were set by the first stretch only (above): carry
        # them, or every resumed stretch's checkpoint would lose them.
        for k in ("start_iterations", "start_core_hours", "start_gpu_hours"):
            if ck["args"].get(k) is not None:
                setattr(a, k, ck["args"][k])
    else:
        segments = []
    segment = {"from": it, "to": it, "seconds": 0.0, "threads": torch.get_num_threads(),
               "bf16": bf16, "channels_last": a.channels_last == "on", "cpu": cpu_name(), "device": device.type}
    if device.type == "cuda":
        segment["gpu"] = torch.cuda.get_device_name(device)
    segments.append(segment)
    log = open(out / "log.jsonl", "a")

    def emit(rec: dict) -> None:
        log.write(json.dumps(rec) + "\n")
        log.flush()

    print(f"training {describe(cfg)} on {device} ({torch.get_num_threads()} threads, "
          f"{'channels_last' if a.channels_last == 'on' else 'NCHW'}, {'bf16 autocast' if bf16 else 'fp32'}), "
          f"{len(sampler)} images, from iteration {it}", flush=True)
    start = time.time()
    window_t, window_it, loss_sum = time.time(), it, 0.0
    fit_from = None  # (iteration, time) where --fit-budget starts measuring the rate
    stop_reason = "iterations"
    # SIGTERM/SIGINT end the run at the next iteration with a checkpoint, as a time budget does
    # (scales_train.cumulative passes its own SIGTERM on), so a stretch can be cut short without loss.
    signalled, handlers = [], {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            handlers[sig] = signal.signal(sig, lambda num, _frame: signalled.append(num))
    model.train()
    while it < a.iters:
        if signalled:
            stop_reason = f"signal {signal.Signals(signalled[0]).name}"
            break
        if a.time_budget and time.time() - start >= a.time_budget:
            stop_reason = "time budget"
            break
        if a.stop_at and it >= a.stop_at:
            stop_reason = "stop-at"
            break
        if a.fit_budget and it < a.warmup:
            # The warm-up's rate does not depend on --iters: measure its second half, then fix the
            # schedule so that it ends inside the budget (5% kept for validations and the checkpoint).
            if it == a.warmup // 2:
                fit_from = (it, time.time())
            elif it == a.warmup - 1 and fit_from:
                rate = (it - fit_from[0]) / (time.time() - fit_from[1])
                a.iters = it + int(rate * 0.95 * (a.fit_budget - (time.time() - t_main)))
                print(f"--fit-budget: {rate:.1f} it/s, schedule set to {a.iters} iterations", flush=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(it, a.lr, a.iters, a.schedule, a.warmup) * g["lr_mult"]
        # 8-bit pixels to the device, divided there: batch()'s values, a quarter of the bytes.
        lr_u8, hr_u8 = sampler.batch_uint8(a.batch)
        lr_t = (torch.from_numpy(lr_u8).to(device).float() / 255.0).contiguous(memory_format=fmt)
        hr_t = torch.from_numpy(hr_u8).to(device).float() / 255.0
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(lr_t)
            loss = distiller.loss(lr_t, out, hr_t) if distiller else F.l1_loss(out.float(), hr_t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        it += 1
        # Kept on the device: a .item() per step would wait for the GPU and stop the next batch's
        # sampling from overlapping this step's kernels.
        loss_sum = loss_sum + loss.detach().float()
        if it % a.log_every == 0:
            now = time.time()
            ips = (it - window_it) / (now - window_t)
            eta = (a.iters - it) / ips if ips > 0 else float("inf")
            rec = {"it": it, "loss": float(loss_sum) / (it - window_it), "it_per_s": ips, "lr": opt.param_groups[0]["lr"],
                   "eta_s": eta, "elapsed_s": train_seconds + now - start}
            print(f"it {it}/{a.iters}  loss {rec['loss']:.5f}  {ips:.2f} it/s  lr {rec['lr']:.2e}  "
                  f"eta {eta / 60:.1f} min", flush=True)
            emit(rec)
            window_t, window_it, loss_sum = now, it, 0.0
        if it % a.val_every == 0 or it == a.iters:
            psnr = validate(model, device, Path(a.val_data or DEFAULT_DATA), a.scale)
            if distiller:
                distiller.clear()
            history.append({"it": it, "set5_psnr": psnr})
            print(f"it {it}  Set5 PSNR {psnr:.3f} dB", flush=True)
            emit({"it": it, "set5_psnr": psnr})
            segment.update(to=it, seconds=time.time() - start)
            save_checkpoint(ck_path, model, opt, sampler, it, a, train_seconds + time.time() - start, history,
                            segments)
    for sig, old in handlers.items():  # the caller's handlers back (tests call main() in-process)
        signal.signal(sig, old)
    segment.update(to=it, seconds=time.time() - start)
    train_seconds += time.time() - start
    if not history or history[-1]["it"] != it:
        psnr = validate(model, device, Path(a.val_data or DEFAULT_DATA), a.scale)
        history.append({"it": it, "set5_psnr": psnr})
        print(f"it {it}  Set5 PSNR {psnr:.3f} dB", flush=True)
        emit({"it": it, "set5_psnr": psnr})
    save_checkpoint(ck_path, model, opt, sampler, it, a, train_seconds, history, segments)
    emit({"done": True, "it": it, "stop": stop_reason, "train_seconds": train_seconds,
          "core_hours": core_hours(segments), "gpu_hours": gpu_hours(segments)})
    print(f"stopped at iteration {it} ({stop_reason}); {train_seconds / 60:.1f} min of training; "
          f"checkpoint {ck_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
