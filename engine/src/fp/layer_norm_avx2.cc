// layer_norm.h's LayerNorm with the 16 partial sums in two AVX2 registers, lanes 0..7 and 8..15
// (-mavx2 -ffp-contract=off): the generic form's operations in its order, so equal to it bit for
// bit.
//
// A token's steps are one long dependent chain (sums, fold, division, squared deviations, fold,
// square root, division), so four tokens go through each step together and their chains overlap
// (tokens<4>), then the last 0-3 one at a time. Whole 8-channel chunks use plain loads and stores;
// only a row's last partial chunk is masked, and its store goes out in pieces
// (kernels/avx2_partial.h). Measured: the paper-size SwinIR x2 pass on AVX2, docs/benchmarks.md.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "fp/layer_norm.h"
#include "kernels/avx2_partial.h"

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

// Chunk [i, i + 8) of a row of c (i < c): zeros past c.
inline __m256 load8(const float* row, int c, int i) { return kernels::load_first(row + i, c - i); }

// Tokens x[0 .. N) (rows of c) normalised into y, each step for all N before the next.
template <int N>
inline void tokens(const float* x, int c, const float* gamma, const float* beta, float* y, float* stats) {
  const float cf = static_cast<float>(c);
  const __m256 zero = _mm256_setzero_ps();
  __m256 lo[N], hi[N], mean[N], rstd[N];
  float mean_s[N];
  for (int j = 0; j < N; ++j) lo[j] = hi[j] = zero;
  for (int i = 0; i < c; i += 16)
    for (int j = 0; j < N; ++j) {
      lo[j] = _mm256_add_ps(lo[j], load8(x + j * c, c, i));
      if (i + 8 < c) hi[j] = _mm256_add_ps(hi[j], load8(x + j * c, c, i + 8));
    }
  for (int j = 0; j < N; ++j) {
    mean_s[j] = fold(lo[j], hi[j]) / cf;
    mean[j] = _mm256_set1_ps(mean_s[j]);
    lo[j] = hi[j] = zero;
  }
  // Squared deviations; lanes past c would add (0 - mean)^2, so the tail's are masked to 0.
  auto dev2 = [&](int j, int i) {
    __m256 d = _mm256_sub_ps(load8(x + j * c, c, i), mean[j]);
    if (c - i < 8) d = _mm256_and_ps(d, _mm256_castsi256_ps(live(c, i)));
    return _mm256_mul_ps(d, d);
  };
  for (int i = 0; i < c; i += 16)
    for (int j = 0; j < N; ++j) {
      lo[j] = _mm256_add_ps(lo[j], dev2(j, i));
      if (i + 8 < c) hi[j] = _mm256_add_ps(hi[j], dev2(j, i + 8));
    }
  for (int j = 0; j < N; ++j) {
    const float r = 1.0f / std::sqrt(fold(lo[j], hi[j]) / cf + kLayerNormEps);
    rstd[j] = _mm256_set1_ps(r);
    if (stats) stats[2 * j] = mean_s[j], stats[2 * j + 1] = r;
  }
  for (int i = 0; i < c; i += 8) {
    const __m256 g = load8(gamma, c, i), b = load8(beta, c, i);
    const int k = c - i < 8 ? c - i : 8;
    for (int j = 0; j < N; ++j) {  // token j's chunk is read, then written: y may be x
      const __m256 d = _mm256_sub_ps(load8(x + j * c, c, i), mean[j]);
      kernels::store_first(y + j * c + i, _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(d, rstd[j]), g), b), k);
    }
  }
}

}  // namespace

void layer_norm_rows_avx2(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                          float* stats) {
  // The per-token divisions and the square root are scalar (the same correctly rounded results).
  int64_t t = 0;
  for (; t + 4 <= rows; t += 4) tokens<4>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
  for (; t < rows; ++t) tokens<1>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
}

}  // namespace scales::fp
