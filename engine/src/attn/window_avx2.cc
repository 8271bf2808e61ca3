// attn/window.h's fused window attention, 8 queries per step in the lanes of a ymm register: the
// steps of window_avx512.cc (read that file first). AVX2 has no scatter, so o^T goes through a
// small transposing buffer, and no mask registers, so the shift mask adds -100 AND-ed with the
// lanes whose region differs (+0 elsewhere).
#include <immintrin.h>

#include <array>
#include <cmath>
#include <utility>

#include "attn/window.h"
#include "bconv/sigmoid_avx2.h"

namespace scales::attn {

namespace {

template <int HD>
void head(const WindowArgs& a, int h, const int32_t* in3, const int32_t* outc) {
  const int n = a.n, c = a.c;
  alignas(32) float st[kMaxTokens * 8];
  alignas(32) float ot[HD * 8];
  const float* qb = a.qkv + h * HD;
  const float* kb = a.qkv + c + h * HD;
  const float* vb = a.qkv + 2 * c + h * HD;
  const float* bt = a.bias_t + static_cast<size_t>(h) * n * n;
  const __m256 scale = _mm256_set1_ps(a.scale), minus100 = _mm256_set1_ps(-100.0f);
  for (int q0 = 0; q0 < n; q0 += 8) {
    const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in3 + q0));
    __m256 qt[HD];
    for (int d = 0; d < HD; ++d) qt[d] = _mm256_mul_ps(_mm256_i32gather_ps(qb + d, idx, 4), scale);
    __m256 mx = _mm256_set1_ps(-INFINITY);
    __m256i rq = _mm256_setzero_si256();
    if (a.region) rq = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a.region + q0)));
    for (int j = 0; j < n; ++j) {
      const float* kj = kb + in3[j];
      __m256 acc = _mm256_mul_ps(_mm256_broadcast_ss(kj), qt[0]);
      for (int d = 1; d < HD; ++d) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(kj + d), qt[d], acc);
      __m256 s = _mm256_add_ps(acc, _mm256_loadu_ps(bt + static_cast<size_t>(j) * n + q0));
      if (a.region) {
        const __m256 same = _mm256_castsi256_ps(_mm256_cmpeq_epi32(rq, _mm256_set1_epi32(a.region[j])));
        s = _mm256_add_ps(s, _mm256_andnot_ps(same, minus100));
      }
      _mm256_store_ps(st + j * 8, s);
      mx = _mm256_max_ps(mx, s);
    }
    __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 2) {  // n is a multiple of 8
      const __m256 e0 = bconv::exp_clamped8(_mm256_sub_ps(_mm256_load_ps(st + j * 8), mx));
      const __m256 e1 = bconv::exp_clamped8(_mm256_sub_ps(_mm256_load_ps(st + j * 8 + 8), mx));
      _mm256_store_ps(st + j * 8, e0);
      _mm256_store_ps(st + j * 8 + 8, e1);
      sum0 = _mm256_add_ps(sum0, e0);
      sum1 = _mm256_add_ps(sum1, e1);
    }
    __m256 o[HD];
    for (int d = 0; d < HD; ++d) o[d] = _mm256_setzero_ps();
    for (int j = 0; j < n; ++j) {
      const __m256 e = _mm256_load_ps(st + j * 8);
      const float* vj = vb + in3[j];
      for (int d = 0; d < HD; ++d) o[d] = _mm256_fmadd_ps(_mm256_broadcast_ss(vj + d), e, o[d]);
    }
    const __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(sum0, sum1));
    for (int d = 0; d < HD; ++d) _mm256_store_ps(ot + d * 8, _mm256_mul_ps(o[d], inv));
    for (int i = 0; i < 8; ++i) {
      float* dst = a.out + outc[q0 + i] + h * HD;
      for (int d = 0; d < HD; ++d) dst[d] = ot[d * 8 + i];
    }
  }
}

using HeadFn = void (*)(const WindowArgs&, int, const int32_t*, const int32_t*);

template <int... D>
constexpr auto head_table(std::integer_sequence<int, D...>) {
  return std::array<HeadFn, sizeof...(D)>{&head<D + 1>...};
}

}  // namespace

void window_avx2(const WindowArgs& a) {
  static constexpr auto heads_by_dim = head_table(std::make_integer_sequence<int, kMaxHeadDim>{});
  const int hd = a.c / a.heads;
  alignas(32) int32_t in3[kMaxTokens], outc[kMaxTokens];
  for (int j = 0; j < a.n; ++j) {
    in3[j] = a.token[j] * 3 * a.c;
    outc[j] = a.token[j] * a.c;
  }
  for (int h = 0; h < a.heads; ++h) heads_by_dim[hd - 1](a, h, in3, outc);
}

}  // namespace scales::attn
