// The int8 3x3 conv on arm64, on NEON dot products (SDOT): the engine's own, because Debian's arm64
// oneDNN 2.6.3 runs int8 convs natively only with 512-bit SVE (A64FX), and every other Arm core
// would fall back to fp32. SDOT is Armv8.2's dotprod extension (Cortex-A76 / Neoverse N1 and later:
// Graviton 2-4, Ampere Altra, Apple M, Raspberry Pi 5); fp::Conv3x3 picks this form for a conv its
// model file records as int8 when the CPU has it (available()), and else fp32.
//
// The arithmetic is oneDNN's int8 form (fp/quantize.h), so the precision gate measured on x86
// holds: inputs quantized per channel, weights per output channel with the input scale folded in,
//     y[o] = weight_scale[o] * (sum over c, ky, kx of x_q * w_q) + bias[o].
// The integer sums are exact: the result equals int8_conv_reference up to the rounding of that
// last multiply-add.
//
// Per call the input band is quantized once; then per chunk of output pixels their 3x3 windows are
// gathered as int8 rows (im2col, zeros for the padding) and multiplied by the packed weights
// (fp/gemm_s8_neon.h), which writes scale * sum + bias as float. Chunks are spread over OpenMP
// threads as in the fp32 form (fp/conv3x3_blas.h).
#pragma once

#include <cstdint>
#include <vector>

#include "fp/conv_params.h"

namespace scales::fp {

class Int8NeonConv3x3 {
 public:
  // Whether this CPU has SDOT (HWCAP_ASIMDDP); false off aarch64.
  static bool available();
  explicit Int8NeonConv3x3(const ConvParams& c);  // c.input_absmax holds c.in ranges
  // Output rows [row0, row1) of the height x width map into dst ((row1 - row0) x width x out);
  // `band` holds input rows [max(0, row0 - 1), min(height, row1 + 1)) (Conv3x3::run_rows_of_band).
  void run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst, int threads) const;

 private:
  int in_, out_;
  int k_;                            // 9 * in rounded up to kGemmS8Depth: a window row's bytes
  std::vector<float> input_scale_;   // (I): 127 / absmax
  std::vector<int8_t> w_;            // the weights in gemm_s8_neon's panels, rows (ky, kx, i)
  std::vector<float> scale_, bias_;  // (O rounded up to 8): weight_scale, bias; zero past O
};

}  // namespace scales::fp
