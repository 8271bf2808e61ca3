// Binary linear, x86-64 AVX-512F + VPOPCNTDQ: 8 output channels in the u64 lanes of a zmm
// (lane8 weights), each token's word broadcast, T tokens sharing every weight load. One XOR, one
// VPOPCNTQ and one add per 8 channels x 64 inputs, as in the 3x3 kernel (bconv3x3_avx512.cc).
#include <immintrin.h>

#include <cstddef>

#include "blinear/kernel.h"

namespace scales::blinear {

namespace {

template <int T>
inline void tokens_avx512(const uint64_t* a, const BlinearWeights& w, int32_t* out) {
  const int words = w.words;
  const __m512i k = _mm512_set1_epi64(w.c_in);
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * words * 8;
    __m512i acc[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_si512();
    for (int j = 0; j < words; ++j) {
      const __m512i wv = _mm512_loadu_si512(wg + static_cast<std::size_t>(j) * 8);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512i av = _mm512_set1_epi64(static_cast<long long>(a[static_cast<std::size_t>(t) * words + j]));
        acc[t] = _mm512_add_epi64(acc[t], _mm512_popcnt_epi64(_mm512_xor_si512(wv, av)));
      }
    }
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    const __mmask8 m = static_cast<__mmask8>((1u << n) - 1);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512i v = _mm512_sub_epi64(k, _mm512_slli_epi64(acc[t], 1));
      _mm256_mask_storeu_epi32(out + static_cast<std::size_t>(t) * w.c_out + 8 * g, m, _mm512_cvtepi64_epi32(v));
    }
  }
}

}  // namespace

void blinear_avx512(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out) {
  constexpr int T = 8;
  int t = 0;
  for (; t + T <= tokens; t += T)
    tokens_avx512<T>(a + static_cast<std::size_t>(t) * w.words, w, out + static_cast<std::size_t>(t) * w.c_out);
  for (; t < tokens; ++t)
    tokens_avx512<1>(a + static_cast<std::size_t>(t) * w.words, w, out + static_cast<std::size_t>(t) * w.c_out);
}

}  // namespace scales::blinear
