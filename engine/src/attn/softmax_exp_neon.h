// softmax_exp.h's e^x for x <= 0 on 4 floats (aarch64 NEON): the window attention's softmax
// (window_neon.cc) and GELU's erfc (blinear/gelu_neon.cc, which must equal gelu.h's scalar
// gelu_exp bit for bit: the same operations in the same order, the FMAs written out; that holds
// where the including file is built with -ffp-contract=off, as gelu_neon.cc is).
#pragma once

#include <arm_neon.h>

#include "attn/softmax_exp.h"

namespace scales::attn {

inline float32x4_t softmax_exp4(float32x4_t x) {
  using namespace softmax_exp;
  float32x4_t t = vmulq_f32(x, vdupq_n_f32(kLog2e));
  // t held at -126 or above, so that 2^n stays a normal float. Compare and select, as x86's max
  // and the scalar t > -126 ? t : -126: a NaN takes the bound (FMAX would keep the NaN).
  const float32x4_t lo = vdupq_n_f32(-126.0f);
  t = vbslq_f32(vcgtq_f32(t, lo), t, lo);
  const float32x4_t n = vrndnq_f32(t);  // FRINTN: to nearest, ties to even, as std::nearbyint
  const float32x4_t f = vsubq_f32(t, n);
  // vfmaq_f32(a, b, c) = a + b * c, rounded once: std::fma(b, c, a).
  float32x4_t p = vfmaq_f32(vdupq_n_f32(kP4), vdupq_n_f32(kP5), f);
  p = vfmaq_f32(vdupq_n_f32(kP3), p, f);
  p = vfmaq_f32(vdupq_n_f32(kP2), p, f);
  p = vfmaq_f32(vdupq_n_f32(kP1), p, f);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, f);
  // n is a whole number, so the conversion's rounding does not matter.
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

}  // namespace scales::attn
