#!/usr/bin/env bash
# The ablation of docs/ablation.md: every variant at one size, seed and iteration budget (x2),
# trained two at a time (one CPU thread each), then evaluated on Set5/Set14/B100 and written into
# that architecture's section of docs/ablation.md.
#   models/scripts/ablation.sh [RUNS_DIR]                   EDSR   (default runs/ablation)
#   ARCH=swinir models/scripts/ablation.sh [RUNS_DIR]       SwinIR (default runs/ablation-swinir)
#   ARCH=swinir LINEAR_RESIDUAL=same_width models/scripts/ablation.sh   SwinIR, FP residual on C -> C
#                                                           layers only (runs/ablation-swinir-same_width)
# Sizes and budget from the environment (defaults below; NGROUPS because bash owns GROUPS); a
# run with a checkpoint resumes from it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
ARCH="${ARCH:-edsr}" JOBS="${JOBS:-2}"
if [ "$ARCH" = swinir ]; then
  LINEAR_RESIDUAL="${LINEAR_RESIDUAL:-matched}"
  if [ "$LINEAR_RESIDUAL" = matched ]; then runs="${1:-$root/runs/ablation-swinir}"
  else runs="${1:-$root/runs/ablation-swinir-$LINEAR_RESIDUAL}"; fi
  ITERS="${ITERS:-1000}" CHANNELS="${CHANNELS:-32}" NGROUPS="${NGROUPS:-2}" DEPTH="${DEPTH:-2}" HEADS="${HEADS:-4}"
  WINDOW="${WINDOW:-8}" PATCH="${PATCH:-32}" BATCH="${BATCH:-16}"
  size="--arch swinir --channels $CHANNELS --groups $NGROUPS --depth $DEPTH --heads $HEADS --window $WINDOW"
  size="$size --linear-residual $LINEAR_RESIDUAL"
else
  runs="${1:-$root/runs/ablation}"
  ITERS="${ITERS:-1000}" BLOCKS="${BLOCKS:-2}" CHANNELS="${CHANNELS:-32}" PATCH="${PATCH:-48}" BATCH="${BATCH:-16}"
  size="--arch edsr --blocks $BLOCKS --channels $CHANNELS"
fi
variants=(plain plain+shift plain+layer_scale plain+spatial plain+channel scales fp)
mkdir -p "$runs"
printf '%s\n' "${variants[@]}" | xargs -P "$JOBS" -I{} sh -c \
  "resume=; [ -f '$runs/{}/checkpoint.pt' ] && resume=--resume; \
   '$root/scripts/py' -m scales_train.train --variant {} --scale 2 $size --patch $PATCH --batch $BATCH \
     --iters $ITERS --val-every $ITERS --seed 0 --threads 1 --out '$runs/{}' \$resume >> '$runs/{}.log' 2>&1"
for v in "${variants[@]}"; do
  "$root/scripts/py" -m scales_train.eval --model "$runs/$v/checkpoint.pt" --scale 2 --json "$runs/$v.eval.json" --threads 2
done
"$root/scripts/py" -m scales_train.report ablation "$runs" "${variants[@]}"
