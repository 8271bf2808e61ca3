#!/usr/bin/env bash
# The quality-speed front (docs/quality-speed.md): creates its training runs, one recipe and one
# budget for every network, as committed runs under models/checkpoints/front-x<S>-<variant>-b<B>c<C>
# that scales_train.cumulative then continues session after session; `report` measures the engine's
# latency for every shape and writes the table and plots.
#   models/scripts/front.sh create      runs at iteration 0 (existing ones are left alone)
#   models/scripts/front.sh report      the FP shapes as ONNX (scales_train.onnx_export), build/bench/scales-latency
#                                       (engine, and ONNX Runtime for FP), then scales_train.front
# SCALES (default "2 4"), BINARY and FP (BLOCKSxCHANNELS lists), ITERS (default 6000) and LR from
# the environment. LR defaults to 4e-3, where the short-budget learning rates level off (docs/
# ablation.md, "Recipe, short budgets": 8e-3 adds only 0.06-0.07 dB at 2000 iterations, near the
# run-to-run noise, and is untried on longer schedules and on the FP networks). The default shapes
# span the same engine latencies at x2 (binary 61-~100 ms, FP 54-113 ms at 256x256, docs/
# quality-speed.md) at a CPU cost the sessions can carry (about 12 core-hours for both scales).
# Binary B8 C64 and FP B6 C48 are slower than every default and left out for that cost; binary
# B16 C64 also because 10k iterations are 11 h of one core and its checkpoint (17 MB) is over the
# 10 MB a committed update may add.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
SCALES="${SCALES:-2 4}"
BINARY="${BINARY:-4x32 8x32 6x48}"
FP="${FP:-3x16 4x24 4x32}"
ITERS="${ITERS:-6000}"
LR="${LR:-4e-3}"
runs="$root/models/checkpoints"

create() {  # VARIANT SCALE BxC
  local b="${3%x*}" c="${3#*x}"
  local out="$runs/front-x$2-$1-b${b}c${c}"
  [ -f "$out/checkpoint.pt" ] && return 0
  echo "create $out"
  "$root/scripts/py" -m scales_train.train --variant "$1" --scale "$2" --blocks "$b" --channels "$c" --patch 48 \
    --batch 16 --iters "$ITERS" --lr "$LR" --bf16 auto --seed 0 --val-every 1000 --time-budget 0.001 --out "$out" >/dev/null
}

case "${1:-}" in
  create)
    for s in $SCALES; do
      for n in $BINARY; do create scales "$s" "$n"; done
      for n in $FP; do create fp "$s" "$n"; done
    done ;;
  report)
    nets=""
    for n in $BINARY; do nets="$nets,scales:$n"; done
    for n in $FP; do nets="$nets,fp:$n"; done
    mkdir -p "$root/runs"
    fp_shapes="${FP// /,}"
    "$root/scripts/py" -m scales_train.onnx_export --front-dir "$root/runs/front-onnx" --shapes "$fp_shapes" \
      --scales "${SCALES// /,}" >/dev/null
    (cd "$root" && build/bench/scales-latency --nets "${nets#,}" --scales "${SCALES// /,}" --inputs 256x256,1280x720 \
      --threads 2 --repeats "${REPEATS:-3}" --onnx-dir runs/front-onnx --json) > "$root/runs/front-latency.json"
    "$root/scripts/py" -m scales_train.front --latency "$root/runs/front-latency.json" ;;
  *) echo "usage: $0 create|report" >&2; exit 2 ;;
esac
