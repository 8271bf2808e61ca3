// An FP 3x3 conv in fp32 by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): each 4x4 block of output pixels ("tile")
// comes from the 6x6 input patch around it in 36 products per input and output channel instead of
// 144, a quarter of the multiply-adds, still in fp32. fp::Conv3x3 runs its wide fp32 convs this way
// (the upsampler, the FP twin's body): see pays().
//
//   V = B^T d B     per tile and input channel (6x6 patch d -> 6x6)        input transform
//   M[xi] = V[xi] U[xi]   for each of the 36 positions xi: (tiles x in) times (in x out)
//   Y = A^T M A + bias    per tile and output channel (6x6 -> 4x4)         output transform
//
// U = G g G^T is the 3x3 kernel g transformed once, at load. The 36 products are matrix products,
// run by the FP library's sgemm (oneDNN's on x86, OpenBLAS's on arm64, each single-threaded inside
// the conv's own OpenMP chunks, as fp/conv3x3_blas.h); the transforms are this file's own.
//
// Tiles sit on a fixed grid: tile (ty, tx) covers output rows 4ty .. 4ty + 3 and columns
// 4tx .. 4tx + 3 of the whole map, whatever band of rows a call asks for, and columns go to the
// products in fixed blocks counted from the left edge. So every output pixel is computed by the
// same operations in the same order whichever band, chunk or thread computes it: a map computed
// band by band equals the map computed whole, bit for bit. That is why run_rows takes the whole
// input map (a tile at a band's edge reads rows outside the band).
//
// Accuracy: the transforms' constants (1/4, 1/6, 1/24, 4, 5, 8) make its rounding larger than the
// direct sum's, about 1e-5 of the output's scale (tests/engine/test_fp_conv.cc holds it to that
// against a double-precision direct conv).
#pragma once

#include <vector>

#include "fp/conv_params.h"

namespace scales::fp {

class WinogradConv3x3 {
 public:
  // Whether this form is the faster fp32 one for an in -> out conv: both sides wide enough that
  // the products, not the transforms, are most of the work (docs/benchmarks.md, "Winograd").
  static bool pays(int in, int out) { return in >= 32 && out >= 32; }

  explicit WinogradConv3x3(const ConvParams& c);
  int in() const { return in_; }
  int out() const { return out_; }
  // Output rows [row0, row1) of the conv over the whole height x width x in map `src`, into dst
  // ((row1 - row0) x width x out), on up to `threads` OpenMP threads.
  void run_rows(const float* src, int height, int width, int row0, int row1, float* dst, int threads) const;

 private:
  int in_, out_;
  std::vector<float> u_;  // (36, in, out): U = G g G^T, position xi's right-hand matrix
  std::vector<float> bias_;
};

}  // namespace scales::fp
