#!/usr/bin/env bash
# Releases a trained run as models/weights/NAME.safetensors with its scores, golden files and card:
#   [FP_MODEL=models/reference/fp-edsr-x2.safetensors] models/scripts/release.sh NAME RUN_DIR ["TRAIN COMMAND"]
# 1. exports the checkpoint to a candidate file (and the TorchScript oracle + golden tensors),
# 2. scores it on Set5/Set14/B100 (scales_train.eval),
# 3. if NAME is already released, keeps the old model unless the candidate is better on all three
#    sets (issue 17: a released file is replaced only when Set5, Set14 and B100 all improve),
# 4. calibrates its FP convs for int8 on training images (scales_train.calibrate) and records the
#    cheapest FP-layer precision that loses at most 0.02 dB on every set through the C++ engine
#    (scales_train.precision_gate --write; needs build/client/scales-upscale),
# 5. installs the file, eval JSON and golden files, measures the engine latency
#    (build/bench/scales-latency: 2 threads, 256x256 and 1280x720, median of 5) and writes the card
#    (scales_train.report card), with the training command given or the run's own, and with FP_MODEL
#    (an FP twin's model file) scored beside it.
# Pause background training while it runs: the card's latency is measured here.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -ge 2 ] || { echo "usage: $0 NAME RUN_DIR [TRAIN_COMMAND]" >&2; exit 2; }
name="$1" run="$2" cmd="${3:-}"
weights="$root/models/weights" golden="$root/tests/golden"
[ -f "$run/checkpoint.pt" ] || { echo "error: no checkpoint in $run" >&2; exit 2; }
[ -x "$root/build/bench/scales-latency" ] || { echo "error: build/bench/scales-latency is not built" >&2; exit 2; }
[ -x "$root/build/client/scales-upscale" ] || { echo "error: build/client/scales-upscale is not built" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
py() { "$root/scripts/py" "$@"; }

py -m scales_train.export --checkpoint "$run/checkpoint.pt" --out "$tmp/$name.safetensors" --oracle-dir "$tmp/golden" >/dev/null
scale="$(py -c 'import sys; from scales_train.modelfile import read_model; print(read_model(sys.argv[1])[0].scale)' \
  "$tmp/$name.safetensors")"
py -m scales_train.eval --model "$tmp/$name.safetensors" --scale "$scale" --json "$tmp/$name.eval.json" >/dev/null
if [ -f "$weights/$name.eval.json" ]; then
  py - "$weights/$name.eval.json" "$tmp/$name.eval.json" <<'PY'
import json, sys
old, new = (json.load(open(p))["sets"] for p in sys.argv[1:3])
rows = [(s, old[s]["psnr"], new[s]["psnr"]) for s in ("Set5", "Set14", "B100")]
for s, o, n in rows:
    print(f"{s}: released {o:.2f} dB, candidate {n:.2f} dB")
if not all(n > o for _, o, n in rows):
    print("kept the released model: the candidate does not improve all three sets")
    sys.exit(3)
PY
fi
py -m scales_train.calibrate --model "$tmp/$name.safetensors" >/dev/null
py -m scales_train.precision_gate --model "$tmp/$name.safetensors" --cli "$root/build/client/scales-upscale" --write
# The golden files name the model file by hash: stamp the calibrated file's (their tensors are the
# fp32 oracle's, unchanged).
py - "$tmp/$name.safetensors" "$tmp/golden/$name.golden.safetensors" <<'PY'
import hashlib, sys
from scales_train import safetensors
t, meta = safetensors.load(sys.argv[2])
meta["model_sha256"] = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
safetensors.save(sys.argv[2], t, meta)
PY
cp "$tmp/$name.safetensors" "$tmp/$name.eval.json" "$weights/"
for f in "$tmp/golden/$name".*; do cp "$f" "$golden/"; done
(cd "$root" && build/bench/scales-latency --nets '' --model "models/weights/$name.safetensors" \
  --inputs 256x256,1280x720 --threads 2 --repeats 5 --json) > "$tmp/latency.json"
py -m scales_train.eval --model bicubic --scale "$scale" --json "$tmp/bicubic.json" >/dev/null
[ -n "$cmd" ] || cmd="$(py -c 'import sys; from scales_train.checkpoint import read_checkpoint; from scales_train.train import resume_argv
a = read_checkpoint(sys.argv[1])["args"]
print("scripts/py -m scales_train.train " + " ".join(v for v in resume_argv(a, out="RUN", time_budget=0, threads=0)[:-1]))' \
  "$run/checkpoint.pt")"
fp=()
if [ -n "${FP_MODEL:-}" ]; then
  py -m scales_train.eval --model "$FP_MODEL" --scale "$scale" --json "$tmp/fp.json" >/dev/null
  fp=(--fp "$tmp/fp.json" --fp-model "${FP_MODEL#"$root/"}")
fi
py -m scales_train.report card --model "$weights/$name.safetensors" --eval "$weights/$name.eval.json" \
  --bicubic "$tmp/bicubic.json" --latency "$tmp/latency.json" --train-command "$cmd" "${fp[@]}" --out "$weights/$name.md"
echo "released $weights/$name.safetensors; now update the README table (scripts/py -m scales_train.report table)"
