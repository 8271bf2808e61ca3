// layer_norm.h's LayerNorm on aarch64 NEON (-ffp-contract=off): the 16 partial sums are four
// 4-lane registers (lanes 0-3, 4-7, 8-11, 12-15), folded as the generic form folds them, so every
// token gets the generic form's bits. Four tokens go through each step together (their sums, folds,
// divisions and square roots are independent chains that overlap), then the last 0-3 one at a
// time. Channel tails (C not a multiple of 4) load zeros past the row, which add nothing.
#include <arm_neon.h>

#include <cmath>
#include <cstdint>

#include "fp/layer_norm.h"
#include "kernels/neon_partial.h"
#include "kernels/steps.h"

namespace scales::fp {

namespace {

using kernels::lanes_below;
using kernels::load_first;
using kernels::steps;
using kernels::store_first;

// acc[l] += acc[l + 8], then + 4, + 2, + 1 (layer_norm.h's order): the folded sum.
inline float fold(const float32x4_t q[4]) {
  const float32x4_t s4 = vaddq_f32(vaddq_f32(q[0], q[2]), vaddq_f32(q[1], q[3]));
  const float32x2_t s2 = vadd_f32(vget_low_f32(s4), vget_high_f32(s4));  // lanes 0 + 2, 1 + 3
  return vget_lane_f32(s2, 0) + vget_lane_f32(s2, 1);
}

// The 16 partial sums of f(row[i]) over i < c for N rows at once: channels [i, i + 4) go to
// register (i / 4) % 4. f takes (row, lanes, live), live the lanes below c (4, or 1-3 at the tail,
// whose other lanes are loaded as zeros).
template <int N, class F>
inline void partial_sums(const float* x, int c, float32x4_t acc[N][4], F f) {
  for (int j = 0; j < N; ++j)
    for (int q = 0; q < 4; ++q) acc[j][q] = vdupq_n_f32(0.0f);
  // q runs over constant bounds, so that acc stays in registers (an index computed from i would
  // put it in memory).
  for (int i = 0; i < c; i += 16)
    for (int q = 0; q < 4 && i + 4 * q < c; ++q) {
      const int at = i + 4 * q, k = c - at < 4 ? c - at : 4;
      for (int j = 0; j < N; ++j) acc[j][q] = vaddq_f32(acc[j][q], f(j, load_first(x + j * c + at, k), k));
    }
}

template <int N>
inline void tokens(const float* x, int c, const float* gamma, const float* beta, float* y, float* stats) {
  const float cf = static_cast<float>(c);
  float32x4_t acc[N][4];
  partial_sums<N>(x, c, acc, [](int, float32x4_t v, int) { return v; });
  float32x4_t mean[N];
  float mean_s[N];
  for (int j = 0; j < N; ++j) {
    mean_s[j] = fold(acc[j]) / cf;
    mean[j] = vdupq_n_f32(mean_s[j]);
  }
  partial_sums<N>(x, c, acc, [&](int j, float32x4_t v, int live) {
    float32x4_t d = vsubq_f32(v, mean[j]);
    // Lanes past c: (0 - mean) must add nothing, as the generic form never sees them.
    if (live < 4) d = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(d), lanes_below(live)));
    return vmulq_f32(d, d);
  });
  float32x4_t rstd[N];
  for (int j = 0; j < N; ++j) {
    const float r = 1.0f / std::sqrt(fold(acc[j]) / cf + kLayerNormEps);
    rstd[j] = vdupq_n_f32(r);
    if (stats) stats[2 * j] = mean_s[j], stats[2 * j + 1] = r;
  }
  steps<4>(c, [&](int i, int k) {
    const float32x4_t g = load_first(gamma + i, k), b = load_first(beta + i, k);
    for (int j = 0; j < N; ++j) {
      // y may be x: token j's lanes i .. i + k are read before they are written, and no other
      // token's are touched.
      const float32x4_t d = vsubq_f32(load_first(x + j * c + i, k), mean[j]);
      store_first(y + j * c + i, vaddq_f32(vmulq_f32(vmulq_f32(d, rstd[j]), g), b), k);
    }
  });
}

}  // namespace

void layer_norm_rows_neon(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                          float* stats) {
  int64_t t = 0;
  for (; t + 4 <= rows; t += 4) tokens<4>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
  for (; t < rows; ++t) tokens<1>(x + t * c, c, gamma, beta, y + t * c, stats ? stats + 2 * t : nullptr);
}

}  // namespace scales::fp
