// ONNX Runtime as a timed FP baseline, through the worker process bench/ort/worker.mjs (Node and
// the npm package onnxruntime-node, which scripts/setup installs for benchmarks only). The
// benchmarks neither link nor load ONNX Runtime: the npm package ships its library without C
// headers, and a child process keeps it out of the engine's address space and thread pools.
//
// The worker keeps the last model's session loaded, so a benchmark can alternate it with the
// engine round by round; asking for another model releases it (its memory arena can be GBs), so
// time one model's warm-up and repeats before the next. Each call returns the time of one
// session.run as the worker measured it.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>

namespace scales::bench {

// DIR/fp-x<S>-b<B>c<C>.onnx, as `scales_train.onnx_export --front-dir DIR` names an FP EDSR of that
// shape; throws std::invalid_argument naming the file (and the command that writes it) if absent.
std::string fp_edsr_onnx(const std::string& dir, int scale, int blocks, int channels);

// The onnxruntime-node package the worker loads, for the report: $SCALES_ORT_MODULE (a copy such as
// bench/ort/hold_to_avx2.py writes) if set, else "bench/ort" (the one scripts/setup installs).
std::string ort_module();

class OrtRunner {
 public:
  // Starts `node worker`; throws std::runtime_error if it cannot.
  explicit OrtRunner(const std::string& worker = "bench/ort/worker.mjs", const std::string& node = "node");
  ~OrtRunner();
  OrtRunner(const OrtRunner&) = delete;
  OrtRunner& operator=(const OrtRunner&) = delete;

  // One timed run of `model` (ONNX, float32 NCHW input) on a width x height input; throws
  // std::runtime_error with the worker's message if the run failed or the worker died.
  double time_ms(const std::string& model, int width, int height, int threads);

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;    // worker's stdin
  FILE* from_ = nullptr;  // worker's stdout
};

}  // namespace scales::bench
