// The binary 3x3 conv kernel contract shared by every ISA variant.
//
// A kernel computes one output row y of the exact integer +-1 dot products
//
//   out[x * c_out + o] = K - 2 * sum_{kh, kw, w} popcount(A(y+kh-1, x+kw-1)[w] XOR W[o, kh, kw, w])
//
// for x in [0, a.width), K = 9 * c_in, reading the PackedMap's +1 border for the padding. Every
// variant must equal bconv3x3_row_ref bit for bit (tests/engine/test_bconv_kernels.cc).
// Rows are independent, so callers split a map's rows across threads.
#pragma once

#include <cstdint>

#include "bconv/pack.h"
#include "bconv/weights.h"

namespace scales::bconv {

using Bconv3x3RowFn = void (*)(const PackedMap& a, const BconvWeights& w, int y, int32_t* out);

// Per-ISA entry points; each lives in its own translation unit compiled for that ISA.
void bconv3x3_row_ref(const PackedMap& a, const BconvWeights& w, int y, int32_t* out);
void bconv3x3_row_avx2(const PackedMap& a, const BconvWeights& w, int y, int32_t* out);
void bconv3x3_row_avx512(const PackedMap& a, const BconvWeights& w, int y, int32_t* out);
void bconv3x3_row_neon(const PackedMap& a, const BconvWeights& w, int y, int32_t* out);

}  // namespace scales::bconv
