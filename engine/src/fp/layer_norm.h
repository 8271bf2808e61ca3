// LayerNorm over channels, per token, the engine's own: y = (x - mean) * rstd * gamma + beta,
// rstd = 1 / sqrt(var + 1e-5), var the biased variance (PyTorch's nn.LayerNorm, eps 1e-5).
//
// Why not oneDNN's: Debian's oneDNN 2.6 runs SwinIR's LayerNorm (60 channels) with its generic
// `simple_layer_normalization`, 0.19-0.37 ms for each half of a 16384-token map with 2 threads
// (ONEDNN_VERBOSE; 21 ms for the 50 calls of a paper-size x2 forward). This one pass per token
// takes 0.23-0.26 ms for the whole map on one thread (a microbenchmark: about the time to read
// and write the map), and the forward's LayerNorm time fell by about a quarter (docs/benchmarks.md).
//
// The sums have one order on every ISA, so every kernel variant gives the same bits: 16 partial
// sums, acc[l] = sum over k ascending of v[16k + l] (lanes past the channels add nothing), then
// folded in halves, acc[l] += acc[l + 8], then + 4, + 2, + 1. The AVX-512 form is one register,
// AVX2 two of 8 lanes, the scalar form an array. mean = sum / C, var = (folded sum of
// (x - mean)^2) / C, rstd = 1 / sqrt(var + eps), y = ((x - mean) * rstd) * gamma + beta: one rounded
// IEEE operation each, no FMA (-ffp-contract=off in these translation units). PyTorch sums in
// another order: the two differ in the last bits (tests/engine/test_layer_norm.cc bounds it).
#pragma once

#include <cstdint>

namespace scales::fp {

inline constexpr float kLayerNormEps = 1e-5f;

// `rows` tokens of `c` channels, row-major; y may be x (in place). With `stats`, each token's mean
// and rstd are also written there (2 floats a token), for layer_norm_apply.
using LayerNormFn = void (*)(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                             float* stats);
void layer_norm_rows(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                     float* stats);
void layer_norm_rows_avx2(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                          float* stats);
void layer_norm_rows_avx512(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                            float* stats);
void layer_norm_rows_neon(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                          float* stats);

// The last step alone, y = ((x - mean) * rstd) * gamma + beta with the stats a LayerNormFn wrote:
// the same bits as the whole LayerNorm, at a fraction of its work (no sums), for a second pass
// over the same tokens.
void layer_norm_apply(const float* x, int64_t rows, int c, const float* stats, const float* gamma, const float* beta,
                      float* y);

}  // namespace scales::fp
