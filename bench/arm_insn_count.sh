#!/usr/bin/env bash
# Counts the AArch64 instructions one run of the cross-built scales-latency executes under
# qemu-aarch64: a speed proxy for ARM code where no ARM machine is at hand. qemu's times cannot
# rank two ARM code paths (the arm64 FP convs through OpenBLAS ran 11-13% slower there than on
# oneDNN's reference GEMM while executing 5x fewer instructions: docs/benchmarks.md), but the
# number of instructions executed can.
#
#   bench/arm_insn_count.sh [scales-latency options]     (after scripts/test built build-arm64/)
#   SCALES_FP_CONV=onednn bench/arm_insn_count.sh ...    (the FP convs on oneDNN instead of OpenBLAS)
#   SCALES_FP_CONV=direct bench/arm_insn_count.sh ...    (no Winograd form: the wide fp32 convs on OpenBLAS's im2col form)
#   SCALES_INSN_TOP=20 bench/arm_insn_count.sh ...       (also the 20 functions that executed most)
#
# How: -singlestep makes every guest instruction its own translation block, and -d nochain,exec
# logs each block as it runs, one line each; the lines go through a FIFO into wc. Slow: about
# 0.3 M instructions per second on the development VM. QEMU_CPU defaults to neoverse-n1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${SCALES_ARM_BUILD:-$root/build-arm64}/bench/scales-latency"
[ -x "$bin" ] || { echo "arm_insn_count: no $bin (run scripts/test, or build build-arm64 as it does)" >&2; exit 2; }
export QEMU_CPU="${QEMU_CPU:-neoverse-n1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/log"
# Each log line ends with the function qemu found for the instruction: the executable's own
# symbols; instructions in shared libraries (OpenBLAS, oneDNN, libc) come without one. The top
# lines are cut by awk, which reads to the end: head would leave sort a SIGPIPE once the list
# outgrows a pipe's buffer, and the script would fail with 141.
if [ -n "${SCALES_INSN_TOP:-}" ]; then
  awk '{ n++; f = ($NF ~ /\]$/) ? "(shared libraries)" : $NF; c[f]++ }
       END { print n > "/dev/stderr"; for (k in c) print c[k], k }' <"$tmp/log" 2>"$tmp/count" |
    sort -rn | awk -v n="$SCALES_INSN_TOP" 'NR <= n' >"$tmp/top" &
else
  wc -l <"$tmp/log" >"$tmp/count" &
fi
counter=$!
status=0
qemu-aarch64 -singlestep -d nochain,exec -D "$tmp/log" "$bin" "$@" >"$tmp/out" || status=$?
if [ "$status" -ne 0 ]; then
  # qemu may have failed before opening the log: open it once so the counter sees its end.
  timeout 2 sh -c ": >'$tmp/log'" || true
  wait "$counter" || true
  echo "arm_insn_count: scales-latency failed (exit $status)" >&2
  exit "$status"
fi
wait "$counter"
echo "instructions: $(tr -d ' ' <"$tmp/count") (QEMU_CPU=$QEMU_CPU, SCALES_FP_CONV=${SCALES_FP_CONV:-})"
if [ -n "${SCALES_INSN_TOP:-}" ]; then
  echo "most executed (instructions, function; C++ names mangled):"
  cat "$tmp/top"
fi
