// gelu.h's GELU on 4 floats at a time (aarch64 NEON, -ffp-contract=off: FMA only where written, as
// FMLA, the one rounding std::fma has): the scalar form's operations in its order, so equal to it
// lane by lane; its gelu_exp is attn/softmax_exp_neon.h's (gelu.h's constants are softmax_exp.h's).
// The tail goes through the scalar form. Two registers a step, so that the two long
// dependent chains (division, two polynomials) overlap.
#include <arm_neon.h>

#include "attn/softmax_exp_neon.h"
#include "blinear/gelu.h"

namespace scales::blinear {

namespace {

inline float32x4_t gelu4(float32x4_t x) {
  using namespace gelu_consts;
  const float32x4_t z = vmulq_f32(vabsq_f32(x), vdupq_n_f32(kRsqrt2));  // FABS clears the sign bit, as the mask
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t t = vdivq_f32(one, vfmaq_f32(one, vdupq_n_f32(kP), z));
  float32x4_t p = vfmaq_f32(vdupq_n_f32(kA4), vdupq_n_f32(kA5), t);
  p = vfmaq_f32(vdupq_n_f32(kA3), p, t);
  p = vfmaq_f32(vdupq_n_f32(kA2), p, t);
  p = vfmaq_f32(vdupq_n_f32(kA1), p, t);
  const float32x4_t half_erfc =
      vmulq_f32(vdupq_n_f32(0.5f), vmulq_f32(vmulq_f32(p, t), attn::softmax_exp4(vnegq_f32(vmulq_f32(z, z)))));
  // x < 0, ordered: a NaN takes the x >= 0 side, as the scalar comparison does.
  const uint32x4_t neg = vcltq_f32(x, vdupq_n_f32(0.0f));
  return vmulq_f32(x, vbslq_f32(neg, half_erfc, vsubq_f32(one, half_erfc)));
}

}  // namespace

void gelu_rows_neon(float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = gelu4(vld1q_f32(y + i)), b = gelu4(vld1q_f32(y + i + 4));
    vst1q_f32(y + i, a);
    vst1q_f32(y + i + 4, b);
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, gelu4(vld1q_f32(y + i)));
  for (; i < n; ++i) y[i] = gelu(y[i]);
}

}  // namespace scales::blinear
