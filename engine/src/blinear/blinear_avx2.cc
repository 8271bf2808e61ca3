// Binary linear, x86-64 AVX2: the popcount by VPSHUFB nibble lookup, byte sums folded into 64-bit
// lanes with VPSADBW every 31 steps (as in bconv3x3_avx2.cc); 8 output channels per group in two
// ymm of 4 u64 lanes, each token's word broadcast, T tokens sharing every weight load.
#include <immintrin.h>

#include <cstddef>

#include "bconv/popcount_avx2.h"
#include "blinear/kernel.h"

namespace scales::blinear {

namespace {

template <int T>
inline void tokens_avx2(const uint64_t* a, const BlinearWeights& w, int32_t* out) {
  const int words = w.words;
  const __m256i lut = bconv::nibble_popcount_lut();
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * words * 8;
    __m256i acc64[T][2], acc8[T][2];
    for (int t = 0; t < T; ++t)
      for (int h = 0; h < 2; ++h) acc64[t][h] = acc8[t][h] = zero;
    int pending = 0;
    for (int j = 0; j < words; ++j) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + static_cast<std::size_t>(j) * 8));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + static_cast<std::size_t>(j) * 8 + 4));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i av = _mm256_set1_epi64x(static_cast<long long>(a[static_cast<std::size_t>(t) * words + j]));
        acc8[t][0] = _mm256_add_epi8(acc8[t][0], bconv::popcnt_bytes(_mm256_xor_si256(w0, av), lut, low4));
        acc8[t][1] = _mm256_add_epi8(acc8[t][1], bconv::popcnt_bytes(_mm256_xor_si256(w1, av), lut, low4));
      }
      if (++pending == 31) {
        for (int t = 0; t < T; ++t)
          for (int h = 0; h < 2; ++h) {
            acc64[t][h] = _mm256_add_epi64(acc64[t][h], _mm256_sad_epu8(acc8[t][h], zero));
            acc8[t][h] = zero;
          }
        pending = 0;
      }
    }
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    for (int t = 0; t < T; ++t) {
      alignas(32) int64_t pop[8];
      for (int h = 0; h < 2; ++h)
        _mm256_store_si256(reinterpret_cast<__m256i*>(pop + 4 * h),
                           _mm256_add_epi64(acc64[t][h], _mm256_sad_epu8(acc8[t][h], zero)));
      int32_t* o = out + static_cast<std::size_t>(t) * w.c_out + 8 * g;
      for (int l = 0; l < n; ++l) o[l] = w.c_in - 2 * static_cast<int32_t>(pop[l]);
    }
  }
}

}  // namespace

void blinear_avx2(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out) {
  constexpr int T = 4;
  int t = 0;
  for (; t + T <= tokens; t += T)
    tokens_avx2<T>(a + static_cast<std::size_t>(t) * w.words, w, out + static_cast<std::size_t>(t) * w.c_out);
  for (; t < tokens; ++t)
    tokens_avx2<1>(a + static_cast<std::size_t>(t) * w.words, w, out + static_cast<std::size_t>(t) * w.c_out);
}

}  // namespace scales::blinear
