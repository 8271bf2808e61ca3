// One window of SCALES-SwinIR's windowed multi-head self-attention (FP), all its heads, fused:
// scores, position bias and shift mask, softmax and the value product in one pass over each
// group of 16 (AVX-512), 8 (AVX2) or 4 (NEON) queries, while their scores are in registers and L1.
//
// Why the engine's own kernel and not oneDNN's: a SwinIR head is tiny (64 tokens of 10 channels
// at window 8 and 6 heads), so the batched oneDNN path (backend/cpu/attention.cc, still the
// generic one) spent more in per-call overhead, in a row softmax with horizontal reductions and
// in four passes over the scores than in arithmetic: softmax, QK^T and AV were 60% of its oneDNN
// time on paper-size SCALES-SwinIR (docs/benchmarks.md). Here the scores are formed transposed,
// one key per row and the queries across the lanes, so the softmax over keys is lane-wise
// max/exp/sum with no horizontal step, and q, k, v are read in place from the qkv rows (no
// gather copy, no scatter copy).
//
// window_ref is the plain scalar definition (std::exp) that tests hold the fused forms to.
#pragma once

#include <cstdint>

namespace scales::attn {

struct WindowArgs {
  const float* qkv = nullptr;        // L x 3C tokens: q | k | v; head h is channels h*hd .. h*hd+hd-1 of each
  float* out = nullptr;              // L x C
  const int32_t* token = nullptr;    // n: the window's tokens in window order (rows of out, and of qkv)
  const int32_t* qkv_row = nullptr;  // n: each token's row of qkv where it differs from token (a window's own qkv)
  const uint8_t* region = nullptr;   // n: each token's shifted-window region; null: one region, no mask
  const float* bias_t = nullptr;     // heads x n x n: the position bias transposed, [h][key j][query i]
  int n = 0, c = 0, heads = 1;       // tokens per window, channels (C), heads; hd = C / heads
  float scale = 1.0f;                // hd^-0.5, applied to q
};
// s[i][j] = (q_i * scale) . k_j + bias[h][i][j] (+ -100 where region[i] != region[j]);
// out[i] = softmax_j(s[i][.]) v, per head.
using WindowFn = void (*)(const WindowArgs&);

// What the fused kernels take: n a multiple of their lanes and at most kMaxTokens (window 16),
// head dims up to kMaxHeadDim (q of 16 queries held in registers), and every qkv offset within
// int32 (the gathers' indices).
inline constexpr int kMaxTokens = 256, kMaxHeadDim = 16;
bool fused_fits(int n, int c, int heads, int lanes, int64_t tokens_in_map);

void window_ref(const WindowArgs& a);
void window_avx512(const WindowArgs& a);  // lanes 16; built on x86-64 only
void window_avx2(const WindowArgs& a);    // lanes 8, AVX2 + FMA; built on x86-64 only
void window_neon(const WindowArgs& a);    // lanes 4; built on aarch64 only

}  // namespace scales::attn
