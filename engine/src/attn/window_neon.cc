// attn/window.h's fused window attention, 4 queries per step in the lanes of a NEON register: the
// steps of window_avx512.cc (read that file first), with q and the output moved by 4 x 4
// register transposes. NEON has no mask registers, so the shift mask adds -100 cleared in the
// lanes whose region is the same (+0 there); key and value channels are taken by lane from the
// broadcast operand of FMLA (vfmaq_n_f32), with no broadcast loads.
#include <arm_neon.h>

#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "attn/softmax_exp_neon.h"
#include "attn/window.h"
#include "kernels/neon_partial.h"

namespace scales::attn {

namespace {

// qt_rows, ot_rows: this head's rows of the window's channel-major q^T and output (HD x n each).
template <int HD>
void head(const WindowArgs& a, int h, const int32_t* in3, const float* qt_rows, float* ot_rows) {
  const int n = a.n, c = a.c;
  alignas(16) float st[kMaxTokens * 4];
  const float* kb = a.qkv + c + h * HD;
  const float* vb = a.qkv + 2 * c + h * HD;
  const float* bt = a.bias_t + static_cast<size_t>(h) * n * n;
  const uint32x4_t minus100 = vreinterpretq_u32_f32(vdupq_n_f32(-100.0f));
  for (int q0 = 0; q0 < n; q0 += 4) {
    float32x4_t qt[HD];
    for (int d = 0; d < HD; ++d) qt[d] = vld1q_f32(qt_rows + d * n + q0);
    float32x4_t mx = vdupq_n_f32(-INFINITY);
    uint32x4_t rq = vdupq_n_u32(0);
    if (a.region) {
      const uint32_t r4[4] = {a.region[q0], a.region[q0 + 1], a.region[q0 + 2], a.region[q0 + 3]};
      rq = vld1q_u32(r4);
    }
    for (int j = 0; j < n; ++j) {
      const float* kj = kb + in3[j];
      float32x4_t acc = vmulq_n_f32(qt[0], kj[0]);
      for (int d = 1; d < HD; ++d) acc = vfmaq_n_f32(acc, qt[d], kj[d]);
      float32x4_t s = vaddq_f32(acc, vld1q_f32(bt + static_cast<size_t>(j) * n + q0));
      if (a.region) {
        const uint32x4_t same = vceqq_u32(rq, vdupq_n_u32(a.region[j]));
        s = vaddq_f32(s, vreinterpretq_f32_u32(vbicq_u32(minus100, same)));
      }
      vst1q_f32(st + j * 4, s);
      mx = vmaxq_f32(mx, s);
    }
    float32x4_t sum0 = vdupq_n_f32(0.0f), sum1 = vdupq_n_f32(0.0f);
    for (int j = 0; j < n; j += 2) {  // n is a multiple of 4
      const float32x4_t e0 = softmax_exp4(vsubq_f32(vld1q_f32(st + j * 4), mx));
      const float32x4_t e1 = softmax_exp4(vsubq_f32(vld1q_f32(st + j * 4 + 4), mx));
      vst1q_f32(st + j * 4, e0);
      vst1q_f32(st + j * 4 + 4, e1);
      sum0 = vaddq_f32(sum0, e0);
      sum1 = vaddq_f32(sum1, e1);
    }
    float32x4_t o[HD];
    for (int d = 0; d < HD; ++d) o[d] = vdupq_n_f32(0.0f);
    for (int j = 0; j < n; ++j) {
      const float32x4_t e = vld1q_f32(st + j * 4);
      const float* vj = vb + in3[j];
      for (int d = 0; d < HD; ++d) o[d] = vfmaq_n_f32(o[d], e, vj[d]);
    }
    const float32x4_t inv = vdivq_f32(vdupq_n_f32(1.0f), vaddq_f32(sum0, sum1));
    for (int d = 0; d < HD; ++d) vst1q_f32(ot_rows + d * n + q0, vmulq_f32(o[d], inv));
  }
}

// r[0..3] (4 rows of 4 floats) transposed in registers: r[k] becomes column k.
inline void transpose4(float32x4_t r[4]) {
  const float32x4x2_t t01 = vtrnq_f32(r[0], r[1]);  // a0 b0 a2 b2 | a1 b1 a3 b3
  const float32x4x2_t t23 = vtrnq_f32(r[2], r[3]);  // c0 d0 c2 d2 | c1 d1 c3 d3
  r[0] = vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0]));
  r[1] = vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1]));
  r[2] = vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0]));
  r[3] = vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1]));
}

using HeadFn = void (*)(const WindowArgs&, int, const int32_t*, const float*, float*);

template <int... D>
constexpr auto head_table(std::integer_sequence<int, D...>) {
  return std::array<HeadFn, sizeof...(D)>{&head<D + 1>...};
}

}  // namespace

void window_neon(const WindowArgs& a) {
  static constexpr auto heads_by_dim = head_table(std::make_integer_sequence<int, kMaxHeadDim>{});
  const int hd = a.c / a.heads;
  const int n = a.n, c = a.c;
  alignas(16) int32_t in3[kMaxTokens];
  thread_local std::vector<float> buf;
  buf.resize(static_cast<size_t>(2) * c * n);
  float* qt = buf.data();
  float* ot = qt + static_cast<size_t>(c) * n;
  for (int i = 0; i < n; ++i) in3[i] = (a.qkv_row ? a.qkv_row[i] : a.token[i]) * 3 * c;
  const float32x4_t scale = vdupq_n_f32(a.scale);
  float32x4_t r[4];
  // q^T: 4 tokens x 4 channels at a time, transposed in registers (n is a multiple of 4).
  for (int i0 = 0; i0 < n; i0 += 4)
    for (int c0 = 0; c0 < c; c0 += 4) {
      const int k = c - c0 < 4 ? c - c0 : 4;
      for (int t = 0; t < 4; ++t) r[t] = kernels::load_first(a.qkv + in3[i0 + t] + c0, k);
      transpose4(r);
      for (int ch = 0; ch < k; ++ch) vst1q_f32(qt + static_cast<size_t>(c0 + ch) * n + i0, vmulq_f32(r[ch], scale));
    }
  for (int h = 0; h < a.heads; ++h)
    heads_by_dim[hd - 1](a, h, in3, qt + static_cast<size_t>(h) * hd * n, ot + static_cast<size_t>(h) * hd * n);
  for (int i0 = 0; i0 < n; i0 += 4)
    for (int c0 = 0; c0 < c; c0 += 4) {
      const int k = c - c0 < 4 ? c - c0 : 4;
      for (int ch = 0; ch < 4; ++ch)
        r[ch] = ch < k ? vld1q_f32(ot + static_cast<size_t>(c0 + ch) * n + i0) : vdupq_n_f32(0.0f);
      transpose4(r);
      for (int t = 0; t < 4; ++t) kernels::store_first(a.out + static_cast<size_t>(a.token[i0 + t]) * c + c0, r[t], k);
    }
}

}  // namespace scales::attn
