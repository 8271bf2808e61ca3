// Binary GEMM, x86-64 AVX-512F + VPOPCNTDQ (compiled with -mavx512f -mavx512vl -mavx512vpopcntdq).
//
// Output channels in the 8 u64 lanes of a zmm (lane8 weights: one load per weight word for 8
// channels); each row's activation word is broadcast. For one group of 8 channels, P = 8 rows
// keep their accumulators in registers (the row loop is unrolled) and share every weight load:
//
//   acc[p] += popcnt(W[g][k] ^ broadcast(A_p[k]))      k over the runs' contiguous words
//
// Per 8 channels x 64 inputs the inner step is one XOR, one VPOPCNTQ and one add: 512 binary MACs.
#include <immintrin.h>

#include <cstddef>

#include "bgemm/bgemm.h"

namespace scales::bgemm {

namespace {

template <int P>
inline void rows_avx512(const Rows& a, int r0, const Weights& w, int32_t* out) {
  const __m512i kbits = _mm512_set1_epi64(w.k_bits);
  // Locals, not a.*: the compiler then keeps them in registers across the unrolled loops.
  const int runs = a.runs, run_words = a.run_words, stride = a.stride;
  const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(r0) * stride;
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * w.k_words * 8;
    __m512i acc[P];
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) acc[p] = _mm512_setzero_si512();
    for (int s = 0; s < runs; ++s) {
      const uint64_t* r = a.run[s] + first;
      const uint64_t* ws = wg + static_cast<std::size_t>(s) * run_words * 8;
      for (int j = 0; j < run_words; ++j) {
        const __m512i wv = _mm512_loadu_si512(ws + static_cast<std::size_t>(j) * 8);
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) {
          const __m512i av = _mm512_set1_epi64(static_cast<long long>(r[p * stride + j]));
          acc[p] = _mm512_add_epi64(acc[p], _mm512_popcnt_epi64(_mm512_xor_si512(wv, av)));
        }
      }
    }
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    const __mmask8 m = static_cast<__mmask8>((1u << n) - 1);
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const __m512i v = _mm512_sub_epi64(kbits, _mm512_slli_epi64(acc[p], 1));  // K - 2 * popcount
      _mm256_mask_storeu_epi32(out + static_cast<std::size_t>(p) * w.c_out + 8 * g, m, _mm512_cvtepi64_epi32(v));
    }
  }
}

}  // namespace

void bgemm_avx512(const Rows& a, const Weights& w, int32_t* out) {
  constexpr int P = 8;
  int r = 0;
  for (; r + P <= a.count; r += P) rows_avx512<P>(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
  for (; r < a.count; ++r) rows_avx512<1>(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
}

}  // namespace scales::bgemm
