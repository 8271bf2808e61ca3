#!/usr/bin/env bash
# The ablation of docs/ablation.md: every variant at one size, seed and iteration budget (x2),
# trained two at a time (one CPU thread each), then evaluated on Set5/Set14/B100 and tabulated.
#   models/scripts/ablation.sh [RUNS_DIR]      (default runs/ablation)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-$root/runs/ablation}"
ITERS="${ITERS:-1000}" BLOCKS="${BLOCKS:-2}" CHANNELS="${CHANNELS:-32}" JOBS="${JOBS:-2}"
variants=(plain plain+shift plain+layer_scale plain+spatial plain+channel scales fp)
mkdir -p "$runs"
# A run that already has a checkpoint resumes from it (a finished one only rewrites its checkpoint).
printf '%s\n' "${variants[@]}" | xargs -P "$JOBS" -I{} sh -c \
  "resume=; [ -f '$runs/{}/checkpoint.pt' ] && resume=--resume; \
   '$root/scripts/py' -m scales_sr.train --variant {} --scale 2 --blocks $BLOCKS --channels $CHANNELS \
     --iters $ITERS --val-every $ITERS --seed 0 --threads 1 --out '$runs/{}' \$resume >> '$runs/{}.log' 2>&1"
for v in "${variants[@]}"; do
  "$root/scripts/py" -m scales_sr.eval --model "$runs/$v/checkpoint.pt" --scale 2 --json "$runs/$v.eval.json" --threads 2
done
"$root/scripts/py" -m scales_sr.report ablation "$runs" "${variants[@]}"
