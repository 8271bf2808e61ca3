// The binary linear layer's kernel contract (SCALES-SwinIR's qkv, proj, fc1, fc2): a GEMM of +-1
// tokens by +-1 weights on packed sign bits, shared by every ISA variant.
//
//   out[t * c_out + o] = c_in - 2 * sum_w popcount(A[t][w] XOR W[o][w])     t in [0, tokens)
//
// A holds `words = ceil(c_in / 64)` uint64 per token (bit j of word w = channel 64w + j, set =
// -1, bits past c_in zero: the model file's layout, docs/model-format.md). Weights are kept in
// two layouts, like the 3x3 conv's (bconv/weights.h):
//
//   bits   (c_out, words)               the model file's; the reference kernel reads it
//   lane8  (groups, words, 8)           entry [g][w][l] = word w of output channel 8g + l
//
// Every variant must equal blinear_ref bit for bit (tests/engine/test_blinear.cc). Tokens are
// independent, so callers split them across threads.
#pragma once

#include <cstdint>
#include <vector>

namespace scales::blinear {

struct BlinearWeights {
  int c_out = 0, c_in = 0, words = 0;
  std::vector<uint64_t> bits;
  std::vector<uint64_t> lane8;

  int groups() const { return (c_out + 7) / 8; }
};

BlinearWeights make_blinear_weights(std::vector<uint64_t> bits, int c_out, int c_in);

using BlinearFn = void (*)(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out);

// Per-ISA entry points; each lives in its own translation unit compiled for that ISA.
void blinear_ref(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out);
void blinear_avx2(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out);
void blinear_avx512(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out);
void blinear_neon(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out);

// Sign bits of u = x + shift (shift may be null) for `tokens` rows of `channels` floats:
// words = ceil(channels / 64) per token, bit set when u < 0 (so sign(0) = sign(-0) = +1 and a NaN
// packs as +1), pad bits 0. pack_token_signs is the reference; the ISA variants equal it bit for
// bit (tests/engine/test_blinear.cc) and are chosen with the kernel variant (bconv/dispatch.h).
using PackFn = void (*)(const float* x, int tokens, int channels, const float* shift, uint64_t* out);
void pack_token_signs(const float* x, int tokens, int channels, const float* shift, uint64_t* out);
void pack_token_signs_avx2(const float* x, int tokens, int channels, const float* shift, uint64_t* out);
void pack_token_signs_avx512(const float* x, int tokens, int channels, const float* shift, uint64_t* out);

}  // namespace scales::blinear
