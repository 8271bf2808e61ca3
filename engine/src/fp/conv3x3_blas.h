// An FP 3x3 conv as one matrix product per chunk of output rows (im2col, then OpenBLAS's sgemm),
// for CPUs where oneDNN has no optimised fp32 conv. On arm64, Debian's oneDNN 2.6.3 (built without
// the Arm Compute Library) runs the engine's NHWC fp32 convs on its reference GEMM (`gemm:ref`,
// docs/engine.md), while OpenBLAS carries tuned NEON and SVE sgemm kernels for each Arm core it
// knows. fp::Conv3x3 picks this form when oneDNN's fp32 conv is a reference one and the build has
// OpenBLAS (SCALES_HAVE_BLAS_CONV: the aarch64 build).
//
// Per chunk of output pixels: their 3x3 windows are laid out as rows of a (pixels x 9 * in) matrix
// (zeros for the padding), the output starts as the bias, and one sgemm adds windows x weights
// ((9 * in) x out). A chunk's window matrix is about 1 MiB, so it is still in cache when the
// product reads it. Chunks are spread over OpenMP threads and each product runs single-threaded
// (OpenBLAS's OpenMP build does not thread itself inside a parallel region): OpenBLAS's own
// threads would be shared by every engine of a server calling at once.
#pragma once

#include <vector>

#include "fp/conv_params.h"

namespace scales::fp {

class BlasConv3x3 {
 public:
  explicit BlasConv3x3(const ConvParams& c);
  // Output rows [row0, row1) of the height x width map into dst ((row1 - row0) x width x out);
  // `band` holds input rows [max(0, row0 - 1), min(height, row1 + 1)) (Conv3x3::run_rows_of_band).
  void run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst, int threads) const;

 private:
  int in_, out_;
  std::vector<float> w_;  // (3, 3, I, O): row (ky * 3 + kx) * I + i of the product's right matrix
  std::vector<float> bias_;
};

}  // namespace scales::fp
