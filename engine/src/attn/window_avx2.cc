// attn/window.h's fused window attention, 8 queries per step in the lanes of a ymm register: the
// steps of window_avx512.cc (read that file first), with q and the output moved by 8 x 8
// register transposes. AVX2 has no mask registers, so the shift mask adds -100 AND-ed with the
// lanes whose region differs (+0 elsewhere).
#include <immintrin.h>

#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "attn/softmax_exp.h"
#include "attn/window.h"

namespace scales::attn {

namespace {

// e^x for x <= 0 (softmax_exp.h): 2^f by Horner with FMA, times 2^n put together in the exponent
// field. t is first held at -126 or above, so that 2^n stays a normal float (x below -87 gives
// 2^-126 * 2^f instead of about 0: nothing against a row sum of at least 1).
inline __m256 exp8(__m256 x) {
  using namespace softmax_exp;
  const __m256 t = _mm256_max_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _mm256_set1_ps(-126.0f));
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kP5), f, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// qt_rows, ot_rows: this head's rows of the window's channel-major q^T and output (HD x n each).
template <int HD>
void head(const WindowArgs& a, int h, const int32_t* in3, const float* qt_rows, float* ot_rows) {
  const int n = a.n, c = a.c;
  alignas(32) float st[kMaxTokens * 8];
  const float* kb = a.qkv + c + h * HD;
  const float* vb = a.qkv + 2 * c + h * HD;
  const float* bt = a.bias_t + static_cast<size_t>(h) * n * n;
  const __m256 minus100 = _mm256_set1_ps(-100.0f);
  for (int q0 = 0; q0 < n; q0 += 8) {
    __m256 qt[HD];
    for (int d = 0; d < HD; ++d) qt[d] = _mm256_loadu_ps(qt_rows + d * n + q0);
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
      const __m256 e0 = exp8(_mm256_sub_ps(_mm256_load_ps(st + j * 8), mx));
      const __m256 e1 = exp8(_mm256_sub_ps(_mm256_load_ps(st + j * 8 + 8), mx));
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
    for (int d = 0; d < HD; ++d) _mm256_storeu_ps(ot_rows + d * n + q0, _mm256_mul_ps(o[d], inv));
  }
}

// r[0..7] (8 rows of 8 floats) transposed in registers: r[k] becomes column k.
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);      // per 128-bit lane: a0 b0 a1 b1
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);  // per 128-bit lane: a2 b2 a3 b3
  }
  for (int g = 0; g < 2; ++g) {  // rows 4g .. 4g+3; u[4g + k]: column 4L + k of them in lane L
    u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);      // lane 0 of both: column k
    r[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);  // lane 1 of both: column 4 + k
  }
}

// Lanes [0, n) set, as a load/store mask (n in 0..8).
inline __m256i lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

using HeadFn = void (*)(const WindowArgs&, int, const int32_t*, const float*, float*);

template <int... D>
constexpr auto head_table(std::integer_sequence<int, D...>) {
  return std::array<HeadFn, sizeof...(D)>{&head<D + 1>...};
}

}  // namespace

void window_avx2(const WindowArgs& a) {
  static constexpr auto heads_by_dim = head_table(std::make_integer_sequence<int, kMaxHeadDim>{});
  const int hd = a.c / a.heads;
  const int n = a.n, c = a.c;
  alignas(32) int32_t in3[kMaxTokens];
  thread_local std::vector<float> buf;
  buf.resize(static_cast<size_t>(2) * c * n);
  float* qt = buf.data();
  float* ot = qt + static_cast<size_t>(c) * n;
  for (int i = 0; i < n; ++i) in3[i] = (a.qkv_row ? a.qkv_row[i] : a.token[i]) * 3 * c;
  const __m256 scale = _mm256_set1_ps(a.scale);
  __m256 r[8];
  // q^T: 8 tokens x 8 channels at a time, transposed in registers (n is a multiple of 8).
  for (int i0 = 0; i0 < n; i0 += 8)
    for (int c0 = 0; c0 < c; c0 += 8) {
      const int k = c - c0 < 8 ? c - c0 : 8;
      const __m256i m = lane_mask(k);
      for (int t = 0; t < 8; ++t) r[t] = _mm256_maskload_ps(a.qkv + in3[i0 + t] + c0, m);
      transpose8(r);
      for (int ch = 0; ch < k; ++ch)
        _mm256_storeu_ps(qt + static_cast<size_t>(c0 + ch) * n + i0, _mm256_mul_ps(r[ch], scale));
    }
  for (int h = 0; h < a.heads; ++h)
    heads_by_dim[hd - 1](a, h, in3, qt + static_cast<size_t>(h) * hd * n, ot + static_cast<size_t>(h) * hd * n);
  for (int i0 = 0; i0 < n; i0 += 8)
    for (int c0 = 0; c0 < c; c0 += 8) {
      const int k = c - c0 < 8 ? c - c0 : 8;
      for (int ch = 0; ch < 8; ++ch)
        r[ch] = ch < k ? _mm256_loadu_ps(ot + static_cast<size_t>(c0 + ch) * n + i0) : _mm256_setzero_ps();
      transpose8(r);
      const __m256i m = lane_mask(k);
      for (int t = 0; t < 8; ++t) _mm256_maskstore_ps(a.out + static_cast<size_t>(a.token[i0 + t]) * c + c0, m, r[t]);
    }
}

}  // namespace scales::attn
