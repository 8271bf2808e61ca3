// attn/window.h's fused window attention, 16 queries per step in the lanes of a zmm register.
// The window's q, scaled, is first transposed to channel-major (q^T: C x n) and its output
// comes back through a channel-major buffer too: scalar copies, about twice as fast here as
// 16-lane gathers and scatters per head (which were 40% of the kernel's time). Then for each
// head and each group of 16 queries:
//   1. q^T (hd x 16) loaded into hd registers;
//   2. one row of scores per key j, s_j = sum_d k_j[d] q^T[d] + bias^T[j] (k_j[d] broadcast from
//      its qkv row), masked where the key's region differs, kept in L1 (n x 16 floats);
//   3. softmax over keys, lane by lane: max, exp (the engine's Cody-Waite exp, bconv/
//      sigmoid_avx512.h), sum;
//   4. o^T[d] = sum_j v_j[d] e_j, then / sum, into the channel-major output buffer.
// HD is a template parameter so that q^T and o^T stay in registers.
#include <immintrin.h>

#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "attn/window.h"
#include "bconv/sigmoid_avx512.h"

namespace scales::attn {

namespace {

// qt, ot: this head's rows of the window's channel-major q^T and output (HD x n each).
template <int HD>
void head(const WindowArgs& a, int h, const int32_t* in3, const float* qt_rows, float* ot_rows) {
  const int n = a.n, c = a.c;
  alignas(64) float st[kMaxTokens * 16];
  const float* kb = a.qkv + c + h * HD;
  const float* vb = a.qkv + 2 * c + h * HD;
  const float* bt = a.bias_t + static_cast<size_t>(h) * n * n;
  const __m512 minus100 = _mm512_set1_ps(-100.0f);
  for (int q0 = 0; q0 < n; q0 += 16) {
    __m512 qt[HD];
    for (int d = 0; d < HD; ++d) qt[d] = _mm512_loadu_ps(qt_rows + d * n + q0);
    __m512 mx = _mm512_set1_ps(-INFINITY);
    if (a.region) {
      const __m512i rq = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.region + q0)));
      for (int j = 0; j < n; ++j) {
        const float* kj = kb + in3[j];
        __m512 acc = _mm512_mul_ps(_mm512_set1_ps(kj[0]), qt[0]);
        for (int d = 1; d < HD; ++d) acc = _mm512_fmadd_ps(_mm512_set1_ps(kj[d]), qt[d], acc);
        __m512 s = _mm512_add_ps(acc, _mm512_loadu_ps(bt + static_cast<size_t>(j) * n + q0));
        s = _mm512_mask_add_ps(s, _mm512_cmpneq_epi32_mask(rq, _mm512_set1_epi32(a.region[j])), s, minus100);
        _mm512_store_ps(st + j * 16, s);
        mx = _mm512_max_ps(mx, s);
      }
    } else {
      for (int j = 0; j < n; ++j) {
        const float* kj = kb + in3[j];
        __m512 acc = _mm512_mul_ps(_mm512_set1_ps(kj[0]), qt[0]);
        for (int d = 1; d < HD; ++d) acc = _mm512_fmadd_ps(_mm512_set1_ps(kj[d]), qt[d], acc);
        const __m512 s = _mm512_add_ps(acc, _mm512_loadu_ps(bt + static_cast<size_t>(j) * n + q0));
        _mm512_store_ps(st + j * 16, s);
        mx = _mm512_max_ps(mx, s);
      }
    }
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 2) {  // n is a multiple of 16
      const __m512 e0 = bconv::exp_clamped16(_mm512_sub_ps(_mm512_load_ps(st + j * 16), mx));
      const __m512 e1 = bconv::exp_clamped16(_mm512_sub_ps(_mm512_load_ps(st + j * 16 + 16), mx));
      _mm512_store_ps(st + j * 16, e0);
      _mm512_store_ps(st + j * 16 + 16, e1);
      sum0 = _mm512_add_ps(sum0, e0);
      sum1 = _mm512_add_ps(sum1, e1);
    }
    __m512 o[HD];
    for (int d = 0; d < HD; ++d) o[d] = _mm512_setzero_ps();
    for (int j = 0; j < n; ++j) {
      const __m512 e = _mm512_load_ps(st + j * 16);
      const float* vj = vb + in3[j];
      for (int d = 0; d < HD; ++d) o[d] = _mm512_fmadd_ps(_mm512_set1_ps(vj[d]), e, o[d]);
    }
    const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(sum0, sum1));
    for (int d = 0; d < HD; ++d) _mm512_storeu_ps(ot_rows + d * n + q0, _mm512_mul_ps(o[d], inv));
  }
}

using HeadFn = void (*)(const WindowArgs&, int, const int32_t*, const float*, float*);

template <int... D>
constexpr auto head_table(std::integer_sequence<int, D...>) {
  return std::array<HeadFn, sizeof...(D)>{&head<D + 1>...};
}

}  // namespace

void window_avx512(const WindowArgs& a) {
  static constexpr auto heads_by_dim = head_table(std::make_integer_sequence<int, kMaxHeadDim>{});
  const int hd = a.c / a.heads;
  const int n = a.n, c = a.c;
  alignas(64) int32_t in3[kMaxTokens];
  thread_local std::vector<float> buf;
  buf.resize(static_cast<size_t>(2) * c * n);
  float* qt = buf.data();
  float* ot = qt + static_cast<size_t>(c) * n;
  for (int i = 0; i < n; ++i) {
    in3[i] = a.token[i] * 3 * c;
    const float* q = a.qkv + in3[i];
    for (int ch = 0; ch < c; ++ch) qt[static_cast<size_t>(ch) * n + i] = q[ch] * a.scale;
  }
  for (int h = 0; h < a.heads; ++h)
    heads_by_dim[hd - 1](a, h, in3, qt + static_cast<size_t>(h) * hd * n, ot + static_cast<size_t>(h) * hd * n);
  for (int i = 0; i < n; ++i) {
    float* o = a.out + static_cast<size_t>(a.token[i]) * c;
    for (int ch = 0; ch < c; ++ch) o[ch] = ot[static_cast<size_t>(ch) * n + i];
  }
}

}  // namespace scales::attn
