// An FP 3x3 conv with few output channels (at most kNarrowOut: EDSR's 64 -> 3 tail), written here
// because oneDNN has no good kernel for it: its direct conv ran EDSR's tail at 30-38 G MAC/s in
// fp32, bf16 and int8 alike, a fifth of its rate on the upsampler (docs/benchmarks.md). This one
// holds 4 pixels x O outputs x 16 input channels of partial sums in registers (4 channels on
// aarch64, in NEON intrinsics) and reads each weight vector once per 4 pixels. It always computes in fp32, the
// reference precision, whatever precision the model file records for the layer.
#pragma once

#include <vector>

#include "fp/conv_params.h"

namespace scales::fp {

constexpr int kNarrowOut = 4;

class NarrowConv3x3 {
 public:
  explicit NarrowConv3x3(const ConvParams& c);
  // Output rows [row0, row1) of the height x width map into dst ((row1 - row0) x width x out);
  // `band` holds input rows [max(0, row0 - 1), min(height, row1 + 1)) (Conv3x3::run_rows_of_band).
  void run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst, int threads) const;

 private:
  int in_, out_;
  std::vector<float> w_;  // (O, 3, 3, I): a tap's I input channels contiguous
  std::vector<float> bias_;
};

}  // namespace scales::fp
