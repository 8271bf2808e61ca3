#!/usr/bin/env bash
# Recipe part (c) of docs/ablation.md ("Recipe, short budgets"): learning rate, batch and patch
# size for the short budgets the CPU affords. Binary SCALES-EDSR x2 B4 C32 with the recipe (L1,
# bf16 autocast where the CPU has it); each run changes one setting of `base` and keeps its pixels
# per run (iterations x batch x patch area), so all compare at one compute budget. Then
# scales_train.eval on Set5/Set14/B100 and `scales_train.report short` into docs/ablation.md.
#   models/scripts/recipe_short.sh [RUNS_DIR]     (default runs/recipe-short; finished runs are kept)
# ITERS (base iterations, default 2000) and THREADS (default 1) from the environment.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-$root/runs/recipe-short}"
ITERS="${ITERS:-2000}" THREADS="${THREADS:-1}"
common=(--variant scales --scale 2 --blocks 4 --channels 32 --seed 0 --bf16 auto --threads "$THREADS" --val-every 1000)
mkdir -p "$runs"

source "$root/models/scripts/train_eval.sh"

train base --lr 5e-4 --batch 16 --patch 48 --iters "$ITERS"
train lr1e-3 --lr 1e-3 --batch 16 --patch 48 --iters "$ITERS"
train lr2e-3 --lr 2e-3 --batch 16 --patch 48 --iters "$ITERS"
train lr4e-3 --lr 4e-3 --batch 16 --patch 48 --iters "$ITERS"
train lr8e-3 --lr 8e-3 --batch 16 --patch 48 --iters "$ITERS"
train batch32 --lr 5e-4 --batch 32 --patch 48 --iters $((ITERS / 2))
train patch64 --lr 5e-4 --batch 16 --patch 64 --iters $((ITERS * 9 / 16))   # (48/64)^2 of the iterations
"$root/scripts/py" -m scales_train.report short "$runs"
