// attn/window.h's fused window attention, 16 queries per step in the lanes of a zmm register.
// The window's q, scaled, is first transposed to channel-major (q^T: C x n) and its output
// comes back through a channel-major buffer too, 16 x 16 blocks transposed in registers: 16-lane
// gathers and scatters per head had been 40% of the kernel's time, and scalar copies were no
// faster. Then for each
// head and each group of 16 queries:
//   1. q^T (hd x 16) loaded into hd registers;
//   2. one row of scores per key j, s_j = sum_d k_j[d] q^T[d] + bias^T[j] (k_j[d] broadcast from
//      its qkv row), masked where the key's region differs, kept in L1 (n x 16 floats);
//   3. softmax over keys, lane by lane: max, exp (attn/softmax_exp.h, with vscalefps), sum;
//   4. o^T[d] = sum_j v_j[d] e_j, then / sum, into the channel-major output buffer.
// HD is a template parameter so that q^T and o^T stay in registers.
#include <immintrin.h>

#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "attn/softmax_exp.h"
#include "attn/window.h"

namespace scales::attn {

namespace {

// e^x for x <= 0 (softmax_exp.h): 2^f by Horner with FMA, times 2^n by vscalefps (which gives 0
// for n far below the float range, and needs no clamp).
inline __m512 exp16(__m512 x) {
  using namespace softmax_exp;
  const __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(kLog2e));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kP5), f, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

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
      const __m512 e0 = exp16(_mm512_sub_ps(_mm512_load_ps(st + j * 16), mx));
      const __m512 e1 = exp16(_mm512_sub_ps(_mm512_load_ps(st + j * 16 + 16), mx));
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

// r[0..15] (16 rows of 16 floats) transposed in registers: r[k] becomes column k. Unpacks pair the
// rows' elements within each 128-bit lane, 4-float shuffles gather a column's four rows per lane,
// and 128-bit lane shuffles put the four row groups together.
inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);      // per lane: a0 b0 a1 b1
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);  // per lane: a2 b2 a3 b3
  }
  for (int g = 0; g < 4; ++g) {  // rows 4g .. 4g+3; u[4g + k]: column 4L + k of them in lane L
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], _MM_SHUFFLE(3, 1, 3, 1));
    const __m512 w0 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512 w1 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], _MM_SHUFFLE(3, 1, 3, 1));
    r[k] = _mm512_shuffle_f32x4(v0, w0, _MM_SHUFFLE(2, 0, 2, 0));
    r[8 + k] = _mm512_shuffle_f32x4(v0, w0, _MM_SHUFFLE(3, 1, 3, 1));
    r[4 + k] = _mm512_shuffle_f32x4(v1, w1, _MM_SHUFFLE(2, 0, 2, 0));
    r[12 + k] = _mm512_shuffle_f32x4(v1, w1, _MM_SHUFFLE(3, 1, 3, 1));
  }
}

inline __mmask16 first_lanes(int k) {
  return k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << k) - 1);
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
  for (int i = 0; i < n; ++i) in3[i] = (a.qkv_row ? a.qkv_row[i] : a.token[i]) * 3 * c;
  const __m512 scale = _mm512_set1_ps(a.scale);
  __m512 r[16];
  // q^T: 16 tokens x 16 channels at a time, transposed in registers (n is a multiple of 16).
  for (int i0 = 0; i0 < n; i0 += 16)
    for (int c0 = 0; c0 < c; c0 += 16) {
      const int k = c - c0 < 16 ? c - c0 : 16;
      for (int t = 0; t < 16; ++t) r[t] = _mm512_maskz_loadu_ps(first_lanes(k), a.qkv + in3[i0 + t] + c0);
      transpose16(r);
      for (int ch = 0; ch < k; ++ch)
        _mm512_storeu_ps(qt + static_cast<size_t>(c0 + ch) * n + i0, _mm512_mul_ps(r[ch], scale));
    }
  for (int h = 0; h < a.heads; ++h)
    heads_by_dim[hd - 1](a, h, in3, qt + static_cast<size_t>(h) * hd * n, ot + static_cast<size_t>(h) * hd * n);
  // The output back to token rows, the same way round.
  for (int i0 = 0; i0 < n; i0 += 16)
    for (int c0 = 0; c0 < c; c0 += 16) {
      const int k = c - c0 < 16 ? c - c0 : 16;
      for (int ch = 0; ch < 16; ++ch)
        r[ch] = ch < k ? _mm512_loadu_ps(ot + static_cast<size_t>(c0 + ch) * n + i0) : _mm512_setzero_ps();
      transpose16(r);
      for (int t = 0; t < 16; ++t)
        _mm512_mask_storeu_ps(a.out + static_cast<size_t>(a.token[i0 + t]) * c + c0, first_lanes(k), r[t]);
    }
}

}  // namespace scales::attn
