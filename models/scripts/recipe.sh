#!/usr/bin/env bash
# The recipe ablation of docs/ablation.md ("Recipe"): binary SCALES-EDSR x2 at one size and one
# iteration budget, each part of the training recipe alone against plain L1 from scratch; one run
# at a time on both cores (scales_train.train_speed: faster than two one-thread runs), then evaluated
# on Set5/Set14/B100 and written into docs/ablation.md by `scales_train.report recipe`.
#   models/scripts/recipe.sh [RUNS_DIR]          (default runs/recipe; a finished run is kept)
# BLOCKS, CHANNELS, ITERS, PATCH, BATCH, THREADS from the environment (defaults below).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-$root/runs/recipe}"
BLOCKS="${BLOCKS:-4}" CHANNELS="${CHANNELS:-32}" ITERS="${ITERS:-2000}" PATCH="${PATCH:-48}" BATCH="${BATCH:-16}"
THREADS="${THREADS:-2}"
teacher="$root/models/reference/fp-edsr-x2.safetensors"  # FP B4 C32 x2, 5000 iterations
common=(--scale 2 --blocks "$BLOCKS" --channels "$CHANNELS" --patch "$PATCH" --batch "$BATCH" --seed 0
        --threads "$THREADS" --val-every 1000)
mkdir -p "$runs"

source "$root/models/scripts/train_eval.sh"

half=$((ITERS / 2))
train l1 --variant scales --iters "$ITERS" --bf16 off
train l1-bf16 --variant scales --iters "$ITERS" --bf16 on
train fp-half --variant fp --iters "$half" --bf16 off
train fp-first --variant scales --iters "$half" --bf16 off --init-from "$runs/fp-half/checkpoint.pt"
train distill --variant scales --iters "$ITERS" --bf16 off --teacher "$teacher"
train fp-ref-start --variant scales --iters "$ITERS" --bf16 off --init-from "$teacher"
"$root/scripts/py" -m scales_train.report recipe "$runs"
