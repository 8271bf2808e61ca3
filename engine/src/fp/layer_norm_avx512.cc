// layer_norm.h's LayerNorm with the 16 partial sums in one AVX-512 register (-mavx512f
// -ffp-contract=off): the generic form's operations in its order, so equal to it bit for bit.
//
// A token's steps form one long dependent chain (sum, fold, divide, squared deviations, fold,
// square root, divide): 15 ns a token one at a time, even from L1. Four tokens go through each
// step together, four independent chains for the core to overlap.
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

// Tokens x[0 .. N) (rows of c) normalised into y: each step for all N before the next. The
// per-token divisions and square root are scalar (the same correctly rounded results; 512-bit
// ones cost more).
template <int N>
inline void tokens(const float* x, int c, const float* gamma, const float* beta, float* y, float* stats) {
  const float cf = static_cast<float>(c);
  __m512 acc[N];
  for (int j = 0; j < N; ++j) acc[j] = _mm512_setzero_ps();
  for (int i = 0; i < c; i += 16) {
    const __mmask16 m = live(c, i);
    for (int j = 0; j < N; ++j) acc[j] = _mm512_add_ps(acc[j], _mm512_maskz_loadu_ps(m, x + j * c + i));
  }
  __m512 mean[N];
  for (int j = 0; j < N; ++j) {
    mean[j] = _mm512_set1_ps(fold(acc[j]) / cf);
    acc[j] = _mm512_setzero_ps();
  }
  for (int i = 0; i < c; i += 16) {
    const __mmask16 m = live(c, i);
    for (int j = 0; j < N; ++j) {
      const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + j * c + i), mean[j]);
      acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(d, d));
    }
  }
  __m512 rstd[N];
  for (int j = 0; j < N; ++j) {
    const float r = 1.0f / std::sqrt(fold(acc[j]) / cf + kLayerNormEps);
    rstd[j] = _mm512_set1_ps(r);
    if (stats) stats[2 * j] = _mm512_cvtss_f32(mean[j]), stats[2 * j + 1] = r;
  }
  for (int i = 0; i < c; i += 16) {
    const __mmask16 m = live(c, i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gamma + i), b = _mm512_maskz_loadu_ps(m, beta + i);
    // All N tokens' values are read before any is written: y may be x.
    __m512 v[N];
    for (int j = 0; j < N; ++j) {
      const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j * c + i), mean[j]);
      v[j] = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(d, rstd[j]), g), b);
    }
    for (int j = 0; j < N; ++j) _mm512_mask_storeu_ps(y + j * c + i, m, v[j]);
  }
}

}  // namespace

void layer_norm_rows_avx512(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                            float* stats) {
  int64_t t = 0;
  for (; t + 4 <= rows; t += 4) tokens<4>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
  for (; t < rows; ++t) tokens<1>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
}

}  // namespace scales::fp
