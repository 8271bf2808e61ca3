// One item's binary linear layer (blinear/params.h) in two steps, so that a caller can take the
// tokens in any grouping: prepare() is the pass over every token that SCALES' channel factors
// need (they read the mean of x over the whole map), and rows() then forms the output of any n
// token rows, from any thread. linear.cc runs rows() over consecutive chunks of 64 tokens;
// attention.cc's qkv path runs it over one window's gathered tokens at a time, so that qkv's
// 3C-channel map is never written whole.
//
// rows() is per token: sign bits of LN(x) + shift -> popcount GEMM (the dispatched ISA's kernel)
// -> z = res(x) + ybin * ((alpha k[o]) s[t]) c[o] (bconv/epilogue.h, the factors in the PyTorch
// order) -> GELU where asked (blinear/gelu.h). A token's result does not depend on the rows it is
// formed with: every grouping gives the same bits.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/batch.h"
#include "net/network.h"

namespace scales::backend::cpu {

class BinaryLinear {
 public:
  static constexpr int kMaxRows = 64;  // rows() takes at most this many tokens per call
  // prepare()'s channel sums are per block of this many consecutive tokens (from token 0), added
  // in block order: fixed, so they do not depend on the thread count, and the size of the chunks
  // op Linear writes, so a producer can record each block as it writes it (record_block).
  static constexpr int kSumBlock = 64;

  // `norm`: the layer reads LayerNorm(x) with these weights, formed per call of rows().
  BinaryLinear(const net::LinearLayer& layer, const net::op::LayerNorm* norm, bool gelu, net::Runtime& rt);

  // The pass over all `tokens` rows of x (L x in) that the channel factors need, on the pool. With
  // a LayerNorm it also records each token's mean and rstd (stats()) so rows() only applies them.
  // With `recorded` stats of x for this layer (start_record, record_block) there is no pass: the
  // same sums and stats, taken from there (they must outlive this object's use).
  void prepare(const float* x, int64_t tokens, const InputStats* recorded = nullptr);

  // For an op that writes the map `reader` reads next (with LayerNorm `norm`, or none): sizes s
  // for a map of `tokens` tokens and returns true, or clears s and returns false where the reader
  // needs no pass (no channel factors). Then record_block for every block, in any order and from
  // any thread (each writes only its own block).
  static bool start_record(InputStats& s, const net::LinearLayer& reader, const net::op::LayerNorm* norm,
                           int64_t tokens);
  // Block `block` (kSumBlock tokens from block * kSumBlock; fewer in the last) of the map, its
  // final values y (n x channels), as prepare()'s pass forms it.
  static void record_block(InputStats& s, int64_t block, const float* y, int n, const net::Runtime& rt);

  // z (n x out) for the n token rows xr (n x in, n <= kMaxRows). st: those tokens' stats (2 floats
  // each, as stats() holds them), or null: the LayerNorm is formed whole here.
  void rows(const float* xr, const float* st, int n, float* z) const;

  // 2 floats per token (mean, rstd) after prepare(), or null where it recorded none (no
  // LayerNorm, or no channel factors and so no pass).
  const float* stats() const { return have_stats_ ? stats_ptr_ : nullptr; }

 private:
  const net::LinearLayer& L_;
  const net::op::LayerNorm* norm_;
  bool gelu_;
  net::Runtime& rt_;
  std::vector<float> cfac_, stats_;
  const float* stats_ptr_ = nullptr;  // stats_, or the recorded ones
  bool have_stats_ = false;
};

}  // namespace scales::backend::cpu
