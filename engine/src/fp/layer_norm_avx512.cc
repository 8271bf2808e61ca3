// layer_norm.h's LayerNorm with the 16 partial sums in one AVX-512 register (-mavx512f
// -ffp-contract=off): the generic form's operations in its order, so equal to it bit for bit.
#include <immintrin.h>

#include <cmath>

#include "fp/layer_norm.h"

namespace scales::fp {

namespace {

inline __mmask16 live(int c, int i) {
  const int left = c - i;
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// acc[l] += acc[l + 8], + 4, + 2, + 1: lane 0 of the result.
inline float fold(__m512 acc) {
  const __m512 hi8 = _mm512_shuffle_f32x4(acc, acc, 0xEE);  // lanes 8..15 moved down
  const __m256 s8 = _mm512_castps512_ps256(_mm512_add_ps(acc, hi8));
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

}  // namespace

void layer_norm_rows_avx512(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y) {
  // The per-token divisions and the square root are scalar (the same correctly rounded results):
  // three 512-bit divisions and a square root per token were most of its time.
  const float cf = static_cast<float>(c);
  for (int64_t t = 0; t < rows; ++t) {
    const float* xt = x + t * c;
    float* yt = y + t * c;
    __m512 acc = _mm512_setzero_ps();
    for (int i = 0; i < c; i += 16) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(live(c, i), xt + i));
    const __m512 mean = _mm512_set1_ps(fold(acc) / cf);
    acc = _mm512_setzero_ps();
    for (int i = 0; i < c; i += 16) {
      const __mmask16 m = live(c, i);
      const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xt + i), mean);
      acc = _mm512_add_ps(acc, _mm512_mul_ps(d, d));
    }
    const __m512 rstd = _mm512_set1_ps(1.0f / std::sqrt(fold(acc) / cf + kLayerNormEps));
    for (int i = 0; i < c; i += 16) {
      const __mmask16 m = live(c, i);
      const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, xt + i), mean);
      const __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(d, rstd), _mm512_maskz_loadu_ps(m, gamma + i)),
                                     _mm512_maskz_loadu_ps(m, beta + i));
      _mm512_mask_storeu_ps(yt + i, m, v);
    }
  }
}

}  // namespace scales::fp
