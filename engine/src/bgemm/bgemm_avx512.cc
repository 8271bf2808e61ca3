// Binary GEMM, x86-64 AVX-512F + VPOPCNTDQ (compiled with -mavx512f -mavx512vl -mavx512vpopcntdq).
//
// Output channels in the 8 u64 lanes of a zmm (lane8 weights: one load per weight word for 8
// channels); each row's activation word is broadcast. P = 8 rows and G = 2 groups of 8 channels
// keep their 16 accumulators in registers (the loops are unrolled).
//
//   acc[p][q] += popcnt(W[g0 + q][k] ^ broadcast(A_p[k]))      k over the runs' contiguous words
//
// Per 8 channels x 64 inputs the inner step is one XOR, one VPOPCNTQ and one add: 512 binary MACs.
// Two forms walk the words:
//   rows_avx512  any Rows: word by word, each weight load serving 8 rows and each broadcast
//                serving 2 groups (SwinIR's linear layers, convs over more than 64 channels).
//   taps_avx512  runs of 3 words at stride 1: a 3x3 conv over at most 64 channels, every model
//                we ship. Row p's word j is word p + j of its run, so the 8 rows read only 10
//                distinct words per run: each is broadcast once and meets the 3 taps' weights,
//                held in registers. Loads per popcount drop from 0.63 to 0.33.
// Measured on the 64 -> 64 3x3 conv (docs/benchmarks.md, "Headline: the AVX-512 taps kernel";
// AMD EPYC, Zen 5): the taps form raised the kernel from 0.69-0.73 to 0.88-0.91 of its roofline.
//
// The empty asm after each add pins the accumulator to a register at that point. Without it GCC
// reassociates a fully unrolled sum: it computes all 144 popcounts of a tile first and adds them
// as a tree afterwards, which spills them to the stack and about halves the rate (likely also why
// earlier fully unrolled trials measured 0.36-0.46 of the roofline, docs/benchmarks.md).
#include <immintrin.h>

#include <cstddef>
#include <utility>

#include "bgemm/bgemm.h"

namespace scales::bgemm {

namespace {

template <int P, int G>
using Tile = __m512i[P][G];

// acc = c on a tile's first word (no zeroing pass), else acc += c.
template <bool kFirst>
inline __attribute__((always_inline)) void accumulate(__m512i& acc, __m512i c) {
  acc = kFirst ? c : _mm512_add_epi64(acc, c);
  asm("" : "+v"(acc));
}

// out = K - 2 * popcount, in int32. Two groups' accumulators are 16 channels side by side in the
// output row: one permute packs their low halves, so the arithmetic and the store run once per
// 16 channels instead of a narrowing (two uops) and a store per 8.
template <int P, int G>
inline __attribute__((always_inline)) void store_tile(const Tile<P, G>& acc, const Weights& w, int g0, int32_t* out) {
  const __m512i kbits = _mm512_set1_epi32(w.k_bits);
  const __m512i lo_halves = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
#pragma GCC unroll 4
  for (int q = 0; q + 1 < G; q += 2) {
    const int c0 = 8 * (g0 + q), n = w.c_out - c0;
    const __mmask16 m = n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1);
#pragma GCC unroll 12
    for (int p = 0; p < P; ++p) {
      const __m512i pc = _mm512_permutex2var_epi32(acc[p][q], lo_halves, acc[p][q + 1]);
      _mm512_mask_storeu_epi32(out + static_cast<std::size_t>(p) * w.c_out + c0, m,
                               _mm512_sub_epi32(kbits, _mm512_slli_epi32(pc, 1)));
    }
  }
  if constexpr (G % 2 == 1) {  // the odd group, narrowed on its own
    const int c0 = 8 * (g0 + G - 1), n = w.c_out - c0;
    const __mmask8 m = static_cast<__mmask8>(n >= 8 ? 0xff : (1u << n) - 1);
    const __m512i kbits64 = _mm512_set1_epi64(w.k_bits);
#pragma GCC unroll 12
    for (int p = 0; p < P; ++p) {
      const __m512i v = _mm512_sub_epi64(kbits64, _mm512_slli_epi64(acc[p][G - 1], 1));
      _mm256_mask_storeu_epi32(out + static_cast<std::size_t>(p) * w.c_out + c0, m, _mm512_cvtepi64_epi32(v));
    }
  }
}

// ---- rows_avx512: any Rows, word by word ----

template <int P, int G, bool kFirst>
inline __attribute__((always_inline)) void word_avx512(Tile<P, G>& acc, const uint64_t* ws, std::size_t group_words,
                                                       const uint64_t* r, int stride) {
  __m512i wv[G];
#pragma GCC unroll 4
  for (int q = 0; q < G; ++q) wv[q] = _mm512_loadu_si512(ws + q * group_words);
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
    const __m512i av = _mm512_set1_epi64(static_cast<long long>(r[p * stride]));
#pragma GCC unroll 4
    for (int q = 0; q < G; ++q) accumulate<kFirst>(acc[p][q], _mm512_popcnt_epi64(_mm512_xor_si512(wv[q], av)));
  }
}

// Rows r0..r0+P-1 x groups g0..g0+G-1. Needs run_words >= 1 (every layer has K >= 1).
template <int P, int G>
inline void rows_avx512(const Rows& a, int r0, int g0, const Weights& w, int32_t* out) {
  // Locals, not a.*: the compiler then keeps them in registers across the unrolled loops.
  const int runs = a.runs, run_words = a.run_words, stride = a.stride;
  const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(r0) * stride;
  const std::size_t group_words = static_cast<std::size_t>(w.k_words) * 8;
  const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g0) * group_words;
  Tile<P, G> acc;
  word_avx512<P, G, true>(acc, wg, group_words, a.run[0] + first, stride);
  for (int s = 0; s < runs; ++s) {
    const uint64_t* r = a.run[s] + first;
    const uint64_t* ws = wg + static_cast<std::size_t>(s) * run_words * 8;
    for (int j = s == 0 ? 1 : 0; j < run_words; ++j)
      word_avx512<P, G, false>(acc, ws + static_cast<std::size_t>(j) * 8, group_words, r + j, stride);
  }
  store_tile<P, G>(acc, w, g0, out);
}

// ---- taps_avx512: runs of 3 words at stride 1 ----

// Word t of the run meets tap KW for row p = t - KW (when that row is in the tile). Templates, not
// loops, so that every tile index is a constant the compiler sees before it lays out registers.
template <int P, int G, bool kFirstRun, int T, int KW>
inline __attribute__((always_inline)) void tap_avx512(Tile<P, G>& acc, const __m512i (&wv)[3][G], __m512i av) {
  constexpr int p = T - KW;
  if constexpr (p >= 0 && p < P) {
#pragma GCC unroll 4
    for (int q = 0; q < G; ++q)  // tap 0 is a row's first word of the run (the earliest t)
      accumulate<kFirstRun && KW == 0>(acc[p][q], _mm512_popcnt_epi64(_mm512_xor_si512(wv[KW][q], av)));
  }
}

template <int P, int G, bool kFirstRun, int... T>
inline __attribute__((always_inline)) void run_taps_avx512(Tile<P, G>& acc, const __m512i (&wv)[3][G],
                                                           const uint64_t* r, std::integer_sequence<int, T...>) {
  // One broadcast per word: the three taps' identical set1s fold into one (no lambda here: a
  // closure holding acc by reference kept GCC from giving the tile registers).
  ((tap_avx512<P, G, kFirstRun, T, 2>(acc, wv, _mm512_set1_epi64(static_cast<long long>(r[T]))),
    tap_avx512<P, G, kFirstRun, T, 1>(acc, wv, _mm512_set1_epi64(static_cast<long long>(r[T]))),
    tap_avx512<P, G, kFirstRun, T, 0>(acc, wv, _mm512_set1_epi64(static_cast<long long>(r[T])))),
   ...);
}

// One run: the 3 taps' weights of G groups into registers, then its P + 2 words once each.
template <int P, int G, bool kFirstRun>
inline __attribute__((always_inline)) void run_avx512(Tile<P, G>& acc, const uint64_t* ws, std::size_t group_words,
                                                      const uint64_t* r) {
  __m512i wv[3][G];
#pragma GCC unroll 3
  for (int kw = 0; kw < 3; ++kw)
#pragma GCC unroll 4
    for (int q = 0; q < G; ++q) wv[kw][q] = _mm512_loadu_si512(ws + q * group_words + kw * 8);
  run_taps_avx512<P, G, kFirstRun>(acc, wv, r, std::make_integer_sequence<int, P + 2>());
}

template <int P, int G>
inline void taps_avx512(const Rows& a, int r0, int g0, const Weights& w, int32_t* out) {
  const std::size_t group_words = static_cast<std::size_t>(w.k_words) * 8;
  const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g0) * group_words;
  Tile<P, G> acc;
  constexpr int kRunWeights = 3 * 8;  // a run's 3 words x 8 lanes, in each group's lane8 block
  run_avx512<P, G, true>(acc, wg, group_words, a.run[0] + r0);
  for (int s = 1; s < a.runs; ++s) run_avx512<P, G, false>(acc, wg + kRunWeights * s, group_words, a.run[s] + r0);
  store_tile<P, G>(acc, w, g0, out);
}

// ---- dispatch ----

// One P x G tile in the chosen form.
template <int P, int G, bool kTaps>
inline void tile_avx512(const Rows& a, int r0, int g0, const Weights& w, int32_t* out) {
  if constexpr (kTaps)
    taps_avx512<P, G>(a, r0, g0, w, out);
  else
    rows_avx512<P, G>(a, r0, g0, w, out);
}

// P rows of every group: two groups at a time, then the odd one.
template <int P, bool kTaps>
inline void rows_all_groups(const Rows& a, int r0, const Weights& w, int32_t* out) {
  int g = 0;
  for (; g + 2 <= w.groups(); g += 2) tile_avx512<P, 2, kTaps>(a, r0, g, w, out);
  if (g < w.groups()) tile_avx512<P, 1, kTaps>(a, r0, g, w, out);
}

}  // namespace

void bgemm_avx512(const Rows& a, const Weights& w, int32_t* out) {
  constexpr int P = 8;
  const bool taps = a.run_words == 3 && a.stride == 1;
  int r = 0;
  for (; r + P <= a.count; r += P) {
    int32_t* o = out + static_cast<std::size_t>(r) * w.c_out;
    if (taps)
      rows_all_groups<P, true>(a, r, w, o);
    else
      rows_all_groups<P, false>(a, r, w, o);
  }
  for (; r < a.count; ++r) rows_all_groups<1, false>(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
}

}  // namespace scales::bgemm
