#!/usr/bin/env bash
# Paper-size training on a GPU machine (a device lease): SCALES-EDSR (B16 C64) and SCALES-SwinIR
# (embedding 60, 4 groups of 6 layers, 6 heads, window 8, MLP ratio 2), x2 and x4, batch 16 of
# 48x48 (EDSR) / 64x64 (SwinIR) LR patches, 300k-iteration cosine schedules. Each run stops
# cleanly after its share of the time budget and resumes from its checkpoint next lease, so a
# paper-size model is trained across leases.
#
#   models/scripts/train_gpu.sh pack            here: copies T91+BSD200 and Set5 into .device-data/
#                                               (git-ignored; carry it to the device machine)
#   BUDGET=480 models/scripts/train_gpu.sh run  there: BUDGET seconds shared by the runs listed in
#                                               RUNS (default: those four and swinir-plain-x2), checkpoints under
#                                               runs/paper/ (carry runs/paper back and forth)
# A run is ARCH[-plain]-xSCALE: `swinir-plain-x2` trains the plain binary baseline of the same
# size, the comparison docs/ablation.md lacks at paper size. SwinIR uses the same_width residual
# layout (docs/ablation.md: the one where the SCALES components help).
# Export and evaluate a finished run as usual (scales_train.export, scales_train.eval, report card).
#
#   models/scripts/train_gpu.sh ship            there: warm restarts of the shipped B6 C48 models, all
#                                               at once, each from .device-data/start/xS.pt (packed by
#                                               models/scripts/pack_device_data.py --start S:CKPT ...);
#                                               the cosine schedule is fitted to BUDGET seconds
#                                               (train.py --fit-budget); runs and logs go to OUT
#   models/scripts/train_gpu.sh swin-ab         there: plain and SCALES SwinIR x2 at docs/ablation.md's
#                                               size, side by side, fitted to BUDGET seconds
# The shipped models are small: one alone leaves the GPU idle between kernels, so they train side by
# side, one process each, on batches of BATCH (default 64) 48x48 LR patches.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="$root/.device-data"

case "${1:-}" in
  pack)
    rm -rf "$data" && mkdir -p "$data/benchmark"
    cp -r "$root/../shared/data/train" "$data/train"
    cp -r "$root/../shared/data/benchmark/Set5" "$data/benchmark/Set5"
    du -sh "$data"
    ;;
  run)
    BUDGET="${BUDGET:-480}"
    RUNS="${RUNS:-edsr-x2 edsr-x4 swinir-x2 swinir-x4 swinir-plain-x2}"
    n=$(wc -w <<<"$RUNS")
    share=$((BUDGET / n))
    py="${PYTHON:-python3}"
    for r in $RUNS; do
      arch="${r%%-*}" scale="${r##*-x}" variant=scales
      case "$r" in *-plain-x*) variant=plain ;; esac
      if [ "$arch" = edsr ]; then
        size="--arch edsr --blocks 16 --channels 64 --patch 48"
      else
        size="--arch swinir --channels 60 --groups 4 --depth 6 --heads 6 --window 8 --mlp-ratio 2 --patch 64"
        size="$size --linear-residual same_width"
      fi
      out="$root/runs/paper/$variant-${r/-plain/}"
      resume=; [ -f "$out/checkpoint.pt" ] && resume=--resume
      PYTHONPATH="$root/models" "$py" -m scales_train.train $size --variant "$variant" --scale "$scale" --batch 16 \
        --iters 300000 --lr 2e-4 --val-every 5000 --device cuda --time-budget "$share" \
        --train-data "$data/train" --val-data "$data/benchmark" --out "$out" $resume
    done
    ;;
  ship)
    BUDGET="${BUDGET:-420}" BATCH="${BATCH:-64}" LR="${LR:-2e-3}"
    dest="${OUT:-$root/runs/gpu}"
    py="${PYTHON:-python3}"
    # The LR images first, every scale at once (runs/lr-cache): a trainer still making them while
    # another measures its rate for --fit-budget would make that rate too high.
    for start in "$data"/start/x*.pt; do
      scale="$(basename "$start" .pt)" && scale="${scale#x}"
      PYTHONPATH="$root/models" "$py" -c "from scales_train.data import PatchSampler as P; P('$data/train', $scale, 48)" &
    done
    wait
    pids=()
    for start in "$data"/start/x*.pt; do
      scale="$(basename "$start" .pt)" && scale="${scale#x}"
      out="$dest/ship-x$scale"
      mkdir -p "$out"
      # --time-budget is the backstop should the fitted schedule run long (it counts from the
      # first iteration, --fit-budget from the process's start).
      PYTHONPATH="$root/models" PYTHONUNBUFFERED=1 "$py" -m scales_train.train --blocks 6 --channels 48 \
        --scale "$scale" --batch "$BATCH" --patch 48 --lr "$LR" --warmup 300 --fit-budget "$BUDGET" \
        --time-budget "$BUDGET" --val-every 2000 --log-every 500 --device "${DEVICE:-cuda}" --threads 2 \
        --init-scale-from "$start" --train-data "$data/train" --val-data "$data/benchmark" \
        --out "$out" >"$dest/ship-x$scale.log" 2>&1 &
      pids+=($!)
    done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    rm -f "$dest"/ship-x*/.lock
    exit $rc
    ;;
  swin-ab)
    # SCALES against plain binary SwinIR at docs/ablation.md's size (embedding 32, 2 groups of 2
    # layers, same_width), side by side, at a larger budget than the CPU gave them: batches of 64
    # 32x32 LR patches, lr 5e-4, the cosine schedule fitted to BUDGET seconds.
    BUDGET="${BUDGET:-180}"
    dest="${OUT:-$root/runs/gpu}"
    py="${PYTHON:-python3}"
    PYTHONPATH="$root/models" "$py" -c "from scales_train.data import PatchSampler as P; P('$data/train', 2, 32)"
    pids=()
    for variant in plain scales; do
      out="$dest/swin-$variant" && mkdir -p "$out"
      PYTHONPATH="$root/models" PYTHONUNBUFFERED=1 "$py" -m scales_train.train --arch swinir --variant "$variant" \
        --scale 2 --channels 32 --groups 2 --depth 2 --heads 4 --window 8 --linear-residual same_width \
        --patch 32 --batch 64 --lr 5e-4 --warmup 300 --fit-budget "$BUDGET" --time-budget "$BUDGET" \
        --val-every 100000 --log-every 500 --device "${DEVICE:-cuda}" --threads 2 \
        --train-data "$data/train" --val-data "$data/benchmark" --out "$out" >"$dest/swin-$variant.log" 2>&1 &
      pids+=($!)
    done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    rm -f "$dest"/swin-*/.lock
    exit $rc
    ;;
  *) echo "usage: $0 pack | run | ship | swin-ab" >&2; exit 2 ;;
esac
