// FP 3x3 convolution (stride 1, zero padding 1, bias) through oneDNN on NHWC float maps: the
// head, upsampler and tail of SCALES-EDSR and the residual convs of its FP twin.
//
// A Conv3x3 owns its weights; the weights reordered into oneDNN's preferred blocked layout are
// cached per layout (the layout depends on the map size oneDNN was asked about), under a mutex,
// so concurrent calls are safe. oneDNN's own primitive cache makes repeated shapes cheap.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "fp/conv_params.h"

namespace scales::fp {

class Conv3x3 {
 public:
  explicit Conv3x3(const ConvParams& c);
  ~Conv3x3();
  int in() const { return in_; }
  int out() const { return out_; }
  const ConvParams& params() const;  // the weights as given (a device backend uploads them)
  // src: height x width x in, dst: height x width x out; `threads` OpenMP threads for oneDNN.
  void run(const float* src, int height, int width, float* dst, int threads) const;

 private:
  struct Impl;
  int in_, out_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scales::fp
