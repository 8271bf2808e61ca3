// layer_norm.h's LayerNorm with the 16 partial sums in two AVX2 registers, lanes 0..7 and 8..15
// (-mavx2 -ffp-contract=off): the generic form's operations in its order, so equal to it bit for
// bit.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "fp/layer_norm.h"

namespace scales::fp {

namespace {

// Lanes [i, i + 8) that are below c, as maskload's mask.
inline __m256i live(int c, int i) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c - i), lane);
}

// (lo + hi) then + 4, + 2, + 1 lanes: lane 0 of the result.
inline float fold(__m256 lo, __m256 hi) {
  const __m256 s8 = _mm256_add_ps(lo, hi);
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

}  // namespace

void layer_norm_rows_avx2(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                          float* stats) {
  // The per-token divisions and the square root are scalar (the same correctly rounded results).
  const float cf = static_cast<float>(c);
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t t = 0; t < rows; ++t) {
    const float* xt = x + t * c;
    float* yt = y + t * c;
    __m256 lo = zero, hi = zero;
    for (int i = 0; i < c; i += 16) {
      lo = _mm256_add_ps(lo, _mm256_maskload_ps(xt + i, live(c, i)));
      if (i + 8 < c) hi = _mm256_add_ps(hi, _mm256_maskload_ps(xt + i + 8, live(c, i + 8)));
    }
    const float mean_s = fold(lo, hi) / cf;
    const __m256 mean = _mm256_set1_ps(mean_s);
    lo = zero;
    hi = zero;
    for (int i = 0; i < c; i += 16) {
      const __m256i m0 = live(c, i);
      const __m256 d0 = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(xt + i, m0), mean), _mm256_castsi256_ps(m0));
      lo = _mm256_add_ps(lo, _mm256_mul_ps(d0, d0));
      if (i + 8 < c) {
        const __m256i m1 = live(c, i + 8);
        const __m256 d1 =
            _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(xt + i + 8, m1), mean), _mm256_castsi256_ps(m1));
        hi = _mm256_add_ps(hi, _mm256_mul_ps(d1, d1));
      }
    }
    const float rstd_s = 1.0f / std::sqrt(fold(lo, hi) / cf + kLayerNormEps);
    const __m256 rstd = _mm256_set1_ps(rstd_s);
    if (stats) stats[2 * t] = mean_s, stats[2 * t + 1] = rstd_s;
    for (int i = 0; i < c; i += 8) {
      const __m256i m = live(c, i);
      const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(xt + i, m), mean);
      const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(d, rstd), _mm256_maskload_ps(gamma + i, m)),
                                     _mm256_maskload_ps(beta + i, m));
      _mm256_maskstore_ps(yt + i, m, v);
    }
  }
}

}  // namespace scales::fp
