// sigmoid.h's sigmoid on 4 floats (aarch64 NEON; included only by translation units compiled
// with -ffp-contract=off, so no multiply and add below becomes one fused instruction): the same
// operations in the same order as the scalar form, so equal to it lane by lane
// (tests/engine/test_sigmoid.cc).
#pragma once

#include <arm_neon.h>

#include "bconv/sigmoid.h"

namespace scales::bconv {

inline float32x4_t exp_clamped4(float32x4_t x) {
  using namespace sigmoid_consts;
  // Compare and select, as the scalar form's x < c ? x : c: a NaN takes the bound (FMIN would
  // return the NaN).
  const float32x4_t hi = vdupq_n_f32(kClamp), lo = vdupq_n_f32(-kClamp);
  x = vbslq_f32(vcltq_f32(x, hi), x, hi);
  x = vbslq_f32(vcgtq_f32(x, lo), x, lo);
  const float32x4_t round = vdupq_n_f32(kRound);
  const float32x4_t n = vsubq_f32(vaddq_f32(vmulq_f32(x, vdupq_n_f32(kLog2e)), round), round);
  const float32x4_t r = vsubq_f32(vsubq_f32(x, vmulq_f32(n, vdupq_n_f32(kLn2Hi))), vmulq_f32(n, vdupq_n_f32(kLn2Lo)));
  auto step = [&](float32x4_t p, float c) { return vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(c)); };
  float32x4_t p = vdupq_n_f32(kC7);
  p = step(p, kC6);
  p = step(p, kC5);
  p = step(p, kC4);
  p = step(p, kC3);
  p = step(p, kC2);
  p = step(p, 1.0f);
  p = step(p, 1.0f);
  // n is a whole number, so the conversion's rounding (toward zero) does not matter.
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

inline float32x4_t sigmoid4(float32x4_t v) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  return vdivq_f32(one, vaddq_f32(one, exp_clamped4(vnegq_f32(v))));
}

}  // namespace scales::bconv
