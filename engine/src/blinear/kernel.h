// The binary linear layer (SCALES-SwinIR's qkv, proj, fc1, fc2) as a binary GEMM
// (bgemm/bgemm.h): +-1 tokens by +-1 weights on packed sign bits,
//
//   out[t * c_out + o] = c_in - 2 * sum_w popcount(A[t][w] XOR W[o][w])     t in [0, tokens)
//
// A holds `words = ceil(c_in / 64)` uint64 per token (bit j of word w = channel 64w + j, set =
// -1, bits past c_in zero: the model file's layout, docs/model-format.md), packed by the kernel
// variant's sign packing; each token is one GEMM row of one run. Whatever the ISA, the variant's
// GEMM does the work (kernels/variant.h); blinear_ref is the explicit formula, the tests' oracle.
// Tokens are independent, so callers split them across threads.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "bgemm/bgemm.h"

namespace scales::blinear {

struct BlinearWeights : bgemm::Weights {  // bits (c_out, words), K = c_in
  int c_in = 0, words = 0;
};

inline BlinearWeights make_blinear_weights(std::vector<uint64_t> bits, int c_out, int c_in) {
  BlinearWeights w;
  const int words = (c_in + 63) / 64;
  static_cast<bgemm::Weights&>(w) = bgemm::make_weights(std::move(bits), c_out, words, c_in);
  w.c_in = c_in;
  w.words = words;
  return w;
}

inline bgemm::Rows token_rows(const uint64_t* a, int tokens, int words) {
  bgemm::Rows r;
  r.run[0] = a;
  r.runs = 1;
  r.run_words = words;
  r.stride = words;
  r.count = tokens;
  return r;
}

inline void blinear(bgemm::GemmFn gemm, const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out) {
  gemm(token_rows(a, tokens, w.words), w, out);
}

// The oracle: one dot product at a time on the `bits` layout, independent of the GEMM core.
void blinear_ref(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out);

}  // namespace scales::blinear
