// Binary 3x3 conv, x86-64 AVX2 (compiled with -mavx2). AVX2 has no vector popcount, so bytes are
// counted with the 4-bit lookup table in VPSHUFB (lo and hi nibble), summed as bytes for up to
// 31 steps (31 * 8 = 248 fits a byte) and then folded into 64-bit lanes with VPSADBW.
//
// Data layout as in the AVX-512 kernel (bconv3x3_avx512.cc): 8 output channels per group, here
// two ymm of 4 u64 lanes; the activation word is broadcast; P pixels share each weight load.
#include <immintrin.h>

#include "bconv/kernel.h"
#include "bconv/popcount_avx2.h"

namespace scales::bconv {

namespace {

template <int P>
inline void pixels_avx2(const PackedMap& a, const BconvWeights& w, int y, int x, int32_t* out) {
  const int words = a.words, row_words = 3 * words, kw = w.k_words();
  const uint64_t* rows[3] = {a.at(y - 1, x - 1), a.at(y, x - 1), a.at(y + 1, x - 1)};
  const __m256i lut = bconv::nibble_popcount_lut();
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<size_t>(g) * kw * 8;
    __m256i acc64[P][2], acc8[P][2];
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p)
      for (int h = 0; h < 2; ++h) acc64[p][h] = acc8[p][h] = zero;
    int pending = 0;  // steps summed in acc8 since the last fold
    for (int kh = 0; kh < 3; ++kh) {
      const uint64_t* r = rows[kh];
      const uint64_t* wk = wg + static_cast<size_t>(kh) * row_words * 8;
      for (int j = 0; j < row_words; ++j) {
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + static_cast<size_t>(j) * 8));
        const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + static_cast<size_t>(j) * 8 + 4));
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) {
          const __m256i av = _mm256_set1_epi64x(static_cast<long long>(r[p * words + j]));
          acc8[p][0] = _mm256_add_epi8(acc8[p][0], popcnt_bytes(_mm256_xor_si256(w0, av), lut, low4));
          acc8[p][1] = _mm256_add_epi8(acc8[p][1], popcnt_bytes(_mm256_xor_si256(w1, av), lut, low4));
        }
        if (++pending == 31) {
#pragma GCC unroll 8
          for (int p = 0; p < P; ++p)
            for (int h = 0; h < 2; ++h) {
              acc64[p][h] = _mm256_add_epi64(acc64[p][h], _mm256_sad_epu8(acc8[p][h], zero));
              acc8[p][h] = zero;
            }
          pending = 0;
        }
      }
    }
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    for (int p = 0; p < P; ++p) {
      alignas(32) int64_t pop[8];
      for (int h = 0; h < 2; ++h) {
        const __m256i s = _mm256_add_epi64(acc64[p][h], _mm256_sad_epu8(acc8[p][h], zero));
        _mm256_store_si256(reinterpret_cast<__m256i*>(pop + 4 * h), s);
      }
      int32_t* o = out + static_cast<size_t>(p) * w.c_out + 8 * g;
      for (int l = 0; l < n; ++l) o[l] = w.k_bits() - 2 * static_cast<int32_t>(pop[l]);
    }
  }
}

}  // namespace

void bconv3x3_row_avx2(const PackedMap& a, const BconvWeights& w, int y, int32_t* out) {
  constexpr int P = 2;
  int x = 0;
  for (; x + P <= a.width; x += P) pixels_avx2<P>(a, w, y, x, out + static_cast<size_t>(x) * w.c_out);
  for (; x < a.width; ++x) pixels_avx2<1>(a, w, y, x, out + static_cast<size_t>(x) * w.c_out);
}

}  // namespace scales::bconv
