// The FP twin of SCALES-EDSR run through LibTorch (C++): the baseline every speedup is measured
// against. Same shape as the binary network (head, B blocks of two residual 3x3 convs with
// PReLU, body_end, pixel-shuffle upsampler, tail), random weights, inference mode. Kept behind a
// small interface so only this file compiles the (slow) LibTorch headers.
#pragma once

#include <memory>
#include <string>

namespace scales::bench {

class TorchFpTwin {
 public:
  TorchFpTwin(int scale, int blocks, int channels);
  ~TorchFpTwin();
  // One forward pass on a random height x width RGB input; returns milliseconds.
  double time_forward_ms(int height, int width);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A TorchScript FP twin (SCALES-SwinIR's, traced at one input size by
// bench/make_swinir_bench.py) through LibTorch.
class TorchScriptTwin {
 public:
  explicit TorchScriptTwin(const std::string& path);
  ~TorchScriptTwin();
  double time_forward_ms(int height, int width);  // one forward on a random input of that size

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

void torch_set_threads(int threads);
// Milliseconds of one LibTorch 3x3 conv c_in -> c_out on a height x width map.
double torch_conv_ms(int c_in, int c_out, int height, int width);

}  // namespace scales::bench
