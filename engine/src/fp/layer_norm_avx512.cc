// layer_norm.h's LayerNorm with the 16 partial sums in one AVX-512 register (-mavx512f
// -ffp-contract=off): the generic form's operations in its order, so equal to it bit for bit.
//
// A token's steps form one long dependent chain (sum, fold, divide, squared deviations, fold,
// square root, divide): 15 ns a token one at a time, even from L1. Sixteen tokens go through each
// step together (tokens16): their sums are folded together, the fold's four steps done for 16
// registers at once by shuffles that pair the same lanes as fold() does, so that the means and
// the rstds come out 16 to a register and the divisions and square root are vector ones (IEEE,
// correctly rounded: the same bits as the scalar ones). The last 0-15 tokens go four (then one)
// at a time through tokens<N>, the same operations with a scalar fold.
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

// The sums of 16 registers' lanes, each folded as fold() does it (lane l + lane l+8, then + 4, + 2,
// + 1), returned one per lane in register order: lane j is fold(acc[j]). Each step halves the
// register count: pairs of registers share one register, each holding the next fold of both.
inline __m512 fold16(const __m512 acc[16]) {
  __m512 v8[8], v4[4], v2[2];
  for (int p = 0; p < 8; ++p) {  // lanes 0-7: acc[2p]'s l + l+8; lanes 8-15: acc[2p+1]'s
    const __m512 a = acc[2 * p], b = acc[2 * p + 1];
    v8[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // 128-bit block k of v4[r]: register 4r + k's l + l+4 (l = 0..3).
  for (int r = 0; r < 4; ++r) {
    const __m512 a = v8[2 * r], b = v8[2 * r + 1];
    v4[r] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // Block k of v2[u]: registers 8u + k (elements 0, 1) and 8u + 4 + k (elements 2, 3), l + l+2.
  for (int u = 0; u < 2; ++u) {
    const __m512 a = v4[2 * u], b = v4[2 * u + 1];
    v2[u] = _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // Block k: registers k, 4 + k, 8 + k, 12 + k, each l + l+1; then into register order.
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(v2[0], v2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(v2[0], v2[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, r);
}

// Lane j of v, in every lane.
inline __m512 lane(__m512 v, int j) { return _mm512_permutexvar_ps(_mm512_set1_epi32(j), v); }

void tokens16(const float* x, int c, const float* gamma, const float* beta, float* y, float* stats) {
  const __m512 cf = _mm512_set1_ps(static_cast<float>(c));
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  for (int i = 0; i < c; i += 16) {
    const __mmask16 m = live(c, i);
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_add_ps(acc[j], _mm512_maskz_loadu_ps(m, x + j * c + i));
  }
  const __m512 mean = _mm512_div_ps(fold16(acc), cf);
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  for (int i = 0; i < c; i += 16) {
    const __mmask16 m = live(c, i);
    for (int j = 0; j < 16; ++j) {
      const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + j * c + i), lane(mean, j));
      acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(d, d));
    }
  }
  const __m512 var = _mm512_div_ps(fold16(acc), cf);
  const __m512 rstd =
      _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_sqrt_ps(_mm512_add_ps(var, _mm512_set1_ps(kLayerNormEps))));
  if (stats) {  // (mean, rstd) pairs
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_ps(stats, _mm512_permutex2var_ps(mean, lo, rstd));
    _mm512_storeu_ps(stats + 16, _mm512_permutex2var_ps(mean, hi, rstd));
  }
  __m512 mb[16], rb[16];
  for (int j = 0; j < 16; ++j) mb[j] = lane(mean, j), rb[j] = lane(rstd, j);
  for (int i = 0; i < c; i += 16) {
    const __mmask16 m = live(c, i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gamma + i), b = _mm512_maskz_loadu_ps(m, beta + i);
    for (int j = 0; j < 16; ++j) {  // a token's block is read, then written: y may be x
      const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j * c + i), mb[j]);
      _mm512_mask_storeu_ps(y + j * c + i, m, _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(d, rb[j]), g), b));
    }
  }
}

}  // namespace

void layer_norm_rows_avx512(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                            float* stats) {
  int64_t t = 0;
  for (; t + 16 <= rows; t += 16) tokens16(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
  for (; t + 4 <= rows; t += 4) tokens<4>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
  for (; t < rows; ++t) tokens<1>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
}

}  // namespace scales::fp
