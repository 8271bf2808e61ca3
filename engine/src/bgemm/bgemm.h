// The binary GEMM core: +-1 rows times +-1 weights on packed sign bits, the one computation under
// both binary layers (the 3x3 conv, bconv/, and SwinIR's linear, blinear/). One micro-kernel per
// ISA lives here; the layers only describe where their rows are.
//
//   out[r * c_out + o] = K - 2 * sum_k popcount(A_r[k] XOR W[o][k])      r in [0, rows), k < k_words
//
// K is the +-1 dot product's length in bits (k_bits); the pad bits past it are zero on both sides
// and so add nothing. Row r's k_words words are `runs` contiguous runs of `run_words` words; run s
// of row r starts at run[s] + r * stride. A linear layer's token is one run (stride = its words);
// a 3x3 conv pixel is three runs, its rows y-1, y, y+1 of the padded map, each 3 pixels x words
// wide (stride = words, so neighbouring pixels overlap).
//
// Weights come in two layouts (weights.h): `bits` (c_out, k_words), the model file's, which the
// reference reads, and `lane8` (groups, k_words, 8), which the SIMD kernels read: the same word of
// 8 output channels in one load, XORed against one broadcast activation word. Output channels
// live in vector lanes; rows share every weight load.
//
// Every variant, bgemm_ref included, is held exactly to the sign dot product (tests/engine/
// test_bgemm.cc) and to each layer's explicit reference (test_bconv_kernels.cc, test_blinear.cc);
// integer sums leave no rounding to differ in. Rows are independent, so callers split them across threads.
#pragma once

#include <cstdint>

#include "bgemm/weights.h"

namespace scales::bgemm {

struct Rows {
  const uint64_t* run[3] = {nullptr, nullptr, nullptr};
  int runs = 1;       // 1..3
  int run_words = 0;  // runs * run_words = the weights' k_words
  int stride = 0;     // words from one row's runs to the next row's
  int count = 0;      // rows
};

using GemmFn = void (*)(const Rows& a, const Weights& w, int32_t* out);

// Per-ISA entry points; each lives in its own translation unit compiled for that ISA.
void bgemm_ref(const Rows& a, const Weights& w, int32_t* out);
void bgemm_avx2(const Rows& a, const Weights& w, int32_t* out);
void bgemm_avx512(const Rows& a, const Weights& w, int32_t* out);
void bgemm_neon(const Rows& a, const Weights& w, int32_t* out);

// Sign bits of u = x + shift (shift may be null) for `rows` rows of `channels` floats:
// ceil(channels / 64) words per row, bit set when u < 0 (so sign(0) = sign(-0) = +1 and a NaN
// packs as +1), pad bits 0. pack_signs_ref is the reference; the ISA variants equal it bit for
// bit (tests/engine/test_blinear.cc).
using PackFn = void (*)(const float* x, int rows, int channels, const float* shift, uint64_t* out);
void pack_signs_ref(const float* x, int rows, int channels, const float* shift, uint64_t* out);
void pack_signs_avx2(const float* x, int rows, int channels, const float* shift, uint64_t* out);
void pack_signs_avx512(const float* x, int rows, int channels, const float* shift, uint64_t* out);
void pack_signs_neon(const float* x, int rows, int channels, const float* shift, uint64_t* out);

}  // namespace scales::bgemm
