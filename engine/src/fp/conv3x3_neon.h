// The FP 3x3 conv in low precision on arm64, on NEON dot products: the engine's own, because
// Debian's arm64 oneDNN 2.6.3 has a native int8 conv only with 512-bit SVE (A64FX) and no native
// bf16 conv, so every other Arm core would run a conv its model file records as int8 or bf16 in
// fp32. fp::Conv3x3 picks this form where the CPU has the instruction (available()):
//   - int8 on SDOT (Armv8.2 dotprod: Cortex-A76 / Neoverse N1 and later, Graviton 2-4, Ampere
//     Altra, Apple M, Raspberry Pi 5);
//   - bf16 on BFDOT (Armv8.6 BF16: Neoverse V1 / N2 and later, Graviton 3-4, Apple M2 on).
//
// The arithmetic is the x86 forms', so the precision gate measured there carries over:
//   - int8 is oneDNN's int8 form (fp/quantize.h): inputs quantized per channel, weights per output
//     channel with the input scale folded in, y[o] = weight_scale[o] * (sum of x_q * w_q) + bias[o].
//     The integer sums are exact, so it equals int8_conv_reference up to the rounding of that last
//     multiply-add.
//   - bf16 rounds inputs and weights to bf16 (nearest even, as oneDNN's reorders) and sums in
//     fp32; BFDOT rounds its partial sums its own way, so it is not bit-equal to AVX512-BF16.
//
// Per call the input band is converted once; then per chunk of output pixels their 3x3 windows are
// gathered as rows (im2col, zeros for the padding) and multiplied by the packed weights
// (fp/gemm_neon.h), which writes float outputs with the bias. Chunks are spread over OpenMP
// threads as in the fp32 form (fp/conv3x3_blas.h).
#pragma once

#include <cstdint>
#include <vector>

#include "fp/conv_params.h"

namespace scales::fp {

class NeonConv3x3 {
 public:
  // Whether this CPU has the instruction for `p` (int8: HWCAP_ASIMDDP, bf16: HWCAP2_BF16); false
  // for fp32 and off aarch64.
  static bool available(Precision p);
  // p is int8 (c.input_absmax then holds c.in ranges) or bf16.
  NeonConv3x3(const ConvParams& c, Precision p);
  // Output rows [row0, row1) of the height x width map into dst ((row1 - row0) x width x out);
  // `band` holds input rows [max(0, row0 - 1), min(height, row1 + 1)) (Conv3x3::run_rows_of_band).
  void run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst, int threads) const;

 private:
  Precision prec_;
  int in_, out_;
  int k_;                            // a window row's values: 9 * in rounded up to the product's depth
  std::vector<float> input_scale_;   // int8: (I), 127 / absmax
  std::vector<int8_t> w8_;           // int8 weights in gemm_s8_neon's panels, rows (ky, kx, i)
  std::vector<uint16_t> w16_;        // bf16 weights in gemm_bf16_neon's panels
  std::vector<float> scale_, bias_;  // (O rounded up to 8): int8's weight_scale, the bias; zero past O
};

}  // namespace scales::fp
