#!/usr/bin/env bash
# The CUDA backend's device check, in two halves:
#
#   bench/cuda/device_check.sh prepare   on the build machine (no GPU): builds build-cuda/ with
#                                        nvcc (sm_80, sm_90) and packs the test and bench
#                                        binaries with the libraries a CUDA image lacks into
#                                        .cuda-dist/ (git-ignored; carried to the device machine)
#   bench/cuda/device_check.sh run       on the GPU machine, in the repository root, results
#                                        under $OUT: the CUDA tests (every kernel against the
#                                        CPU engine, whole networks CUDA vs CPU >= 60 dB), a
#                                        compute-sanitizer pass over the kernel tests, the
#                                        backend's timings and the FP16 twin's through PyTorch
#                                        in the same run, and the table for docs/benchmarks.md.
# Every step has its own time limit; the whole run is meant to take 3-5 minutes.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dist="$root/.cuda-dist"

prepare() {
  set -e
  local b="$root/build-cuda"
  cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Release -DSCALES_CUDA=ON -DSCALES_BUILD_CLIENT=OFF \
    -DSCALES_BUILD_BENCH=OFF -DSCALES_BUILD_LATENCY=OFF -DBUILD_TESTING=ON -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc >/dev/null
  cmake --build "$b" -j"$(nproc)" --target cuda_tests scales-bench-cuda
  rm -rf "$dist"
  mkdir -p "$dist/lib"
  cp "$b/tests/cuda/cuda_tests" "$b/bench/cuda/scales-bench-cuda" "$dist/"
  strip "$dist/cuda_tests" "$dist/scales-bench-cuda"
  # Debian's oneDNN (the CPU engine the tests compare with) and OpenMP runtime; CUDA's own
  # libraries (cudart, cuBLAS) come from the device machine's toolkit.
  for lib in $(ldd "$dist/cuda_tests" | awk '/=> \// {print $3}' | grep -E 'libdnnl|libgomp|libOpenCL'); do
    cp -L "$lib" "$dist/lib/"
  done
  du -sh "$dist"
}

run() {
  local out="${OUT:-/tmp/scales-device-check}"
  mkdir -p "$out"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/nvidia-smi.csv"
  local cublas_dir
  cublas_dir="$(python3 -c 'import nvidia.cublas, os; print(os.path.join(os.path.dirname(nvidia.cublas.__file__), "lib"))' 2>/dev/null || true)"
  export LD_LIBRARY_PATH="$dist/lib:/usr/local/cuda/lib64:${cublas_dir}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export SCALES_SOURCE_DIR="$root"
  ldd "$dist/cuda_tests" | grep -i "not found" && echo "missing libraries (above)"
  echo "== CUDA tests"
  timeout 240 "$dist/cuda_tests" --gtest_output="json:$out/cuda_tests.json" >"$out/cuda_tests.log" 2>&1
  echo "cuda_tests exit $?"
  grep -E "dB vs CPU|FAILED|PASSED|SKIPPED|Failure" "$out/cuda_tests.log" | head -40
  if command -v compute-sanitizer >/dev/null; then
    echo "== compute-sanitizer (memcheck) over the kernel tests"
    timeout 120 compute-sanitizer --tool memcheck --error-exitcode 3 "$dist/cuda_tests" \
      --gtest_filter='CudaKernels.*' >"$out/sanitizer.log" 2>&1
    echo "compute-sanitizer exit $?"
    grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/sanitizer.log" | head
  fi
  echo "== timings"
  timeout 180 "$dist/scales-bench-cuda" --json "$out/bench.json" --repeats 20 2>&1 | tee "$out/bench.log"
  timeout 150 python3 "$root/bench/cuda/torch_fp16_twin.py" --json "$out/torch.json" 2>&1 | tee "$out/torch.log"
  if [ -f "$out/bench.json" ] && [ -f "$out/torch.json" ]; then
    python3 "$root/bench/cuda/report.py" "$out/bench.json" "$out/torch.json" | tee "$out/report.md"
  fi
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
