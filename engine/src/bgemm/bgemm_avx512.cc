// Binary GEMM, x86-64 AVX-512F + VPOPCNTDQ (compiled with -mavx512f -mavx512vl -mavx512vpopcntdq).
//
// Output channels in the 8 u64 lanes of a zmm (lane8 weights: one load per weight word for 8
// channels); each row's activation word is broadcast. P = 8 rows and G = 2 groups of 8 channels
// keep their 16 accumulators in registers (the loops are unrolled): each weight load serves 8
// rows and each broadcast serves 2 groups.
//
//   acc[p][q] += popcnt(W[g0 + q][k] ^ broadcast(A_p[k]))      k over the runs' contiguous words
//
// Per 8 channels x 64 inputs the inner step is one XOR, one VPOPCNTQ and one add: 512 binary MACs.
// Measured on the 64 -> 64 3x3 conv at 256x256, 2 threads (AMD EPYC, Zen 4), in one run of a
// throwaway harness linking each form (docs/benchmarks.md): P8 G1
// (one group per pass, a broadcast per step) 1640-1744 G/s, P8 G2 1840-1947, P4 G4 1710-1853;
// P12 G2 and P8 G4 spill accumulators and halve the rate.
#include <immintrin.h>

#include <cstddef>

#include "bgemm/bgemm.h"

namespace scales::bgemm {

namespace {

template <int P, int G>
inline void rows_avx512(const Rows& a, int r0, int g0, const Weights& w, int32_t* out) {
  const __m512i kbits = _mm512_set1_epi64(w.k_bits);
  // Locals, not a.*: the compiler then keeps them in registers across the unrolled loops.
  const int runs = a.runs, run_words = a.run_words, stride = a.stride;
  const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(r0) * stride;
  const std::size_t group_words = static_cast<std::size_t>(w.k_words) * 8;
  const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g0) * group_words;
  __m512i acc[P][G];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
    for (int q = 0; q < G; ++q) acc[p][q] = _mm512_setzero_si512();
  for (int s = 0; s < runs; ++s) {
    const uint64_t* r = a.run[s] + first;
    const uint64_t* ws = wg + static_cast<std::size_t>(s) * run_words * 8;
    for (int j = 0; j < run_words; ++j) {
      __m512i wv[G];
#pragma GCC unroll 4
      for (int q = 0; q < G; ++q) wv[q] = _mm512_loadu_si512(ws + q * group_words + static_cast<std::size_t>(j) * 8);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const __m512i av = _mm512_set1_epi64(static_cast<long long>(r[p * stride + j]));
#pragma GCC unroll 4
        for (int q = 0; q < G; ++q)
          acc[p][q] = _mm512_add_epi64(acc[p][q], _mm512_popcnt_epi64(_mm512_xor_si512(wv[q], av)));
      }
    }
  }
#pragma GCC unroll 4
  for (int q = 0; q < G; ++q) {
    const int g = g0 + q, n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    const __mmask8 m = static_cast<__mmask8>((1u << n) - 1);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const __m512i v = _mm512_sub_epi64(kbits, _mm512_slli_epi64(acc[p][q], 1));  // K - 2 * popcount
      _mm256_mask_storeu_epi32(out + static_cast<std::size_t>(p) * w.c_out + 8 * g, m, _mm512_cvtepi64_epi32(v));
    }
  }
}

// P rows of every group: G groups at a time, then the groups left one at a time.
template <int P>
inline void rows_all_groups(const Rows& a, int r0, const Weights& w, int32_t* out) {
  constexpr int G = 2;
  int g = 0;
  for (; g + G <= w.groups(); g += G) rows_avx512<P, G>(a, r0, g, w, out);
  for (; g < w.groups(); ++g) rows_avx512<P, 1>(a, r0, g, w, out);
}

}  // namespace

void bgemm_avx512(const Rows& a, const Weights& w, int32_t* out) {
  constexpr int P = 8;
  int r = 0;
  for (; r + P <= a.count; r += P) rows_all_groups<P>(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
  for (; r < a.count; ++r) rows_all_groups<1>(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
}

}  // namespace scales::bgemm
