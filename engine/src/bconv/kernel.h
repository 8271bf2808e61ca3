// The binary 3x3 conv as a binary GEMM (bgemm/bgemm.h). One output row y is
//
//   out[x * c_out + o] = K - 2 * sum_{kh, kw, w} popcount(A(y+kh-1, x+kw-1)[w] XOR W[o, kh, kw, w])
//
// for x in [0, a.width), K = 9 * c_in, reading the PackedMap's +1 border for the padding: GEMM
// rows are the row's pixels, each three runs (map rows y-1, y, y+1) of 3 * words contiguous
// words. Whatever the ISA, the kernel variant's GEMM does the work (kernels/variant.h); the
// explicit formula is bconv3x3_ref.h, the oracle of the tests. Rows are independent, so callers
// split a map's rows across threads.
#pragma once

#include <cstdint>

#include "bconv/pack.h"
#include "bconv/weights.h"
#include "bgemm/bgemm.h"

namespace scales::bconv {

inline bgemm::Rows conv_rows(const PackedMap& a, int y) {
  bgemm::Rows r;
  for (int kh = 0; kh < 3; ++kh) r.run[kh] = a.at(y + kh - 1, -1);
  r.runs = 3;
  r.run_words = 3 * a.words;
  r.stride = a.words;
  r.count = a.width;
  return r;
}

inline void bconv3x3_row(bgemm::GemmFn gemm, const PackedMap& a, const BconvWeights& w, int y, int32_t* out) {
  gemm(conv_rows(a, y), w, out);
}

}  // namespace scales::bconv
