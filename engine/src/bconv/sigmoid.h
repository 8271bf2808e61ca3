// The engine's logistic sigmoid, 1 / (1 + exp(-v)), for the SCALES re-scalings (spatial s[p] and
// channel c[o]). Its own exp rather than std::exp so that a vector form can equal it bit for bit:
// the spatial factor is formed once per pixel per layer, and a scalar libm call per pixel was a
// fifth of the fused epilogue's time (sigmoid_avx512.h holds the 16-lane form; the two must be
// changed together, tests/engine/test_sigmoid.cc holds them equal and close to std::exp).
//
// exp(x) = 2^n * p(r), n = nearest integer to x / ln 2, r = x - n ln 2 (Cody-Waite: ln 2 split
// in two, the high part with few enough bits that n * hi is exact), p a degree-7 Taylor
// polynomial in Horner form, 2^n built in the exponent bits. Every operation is one rounded IEEE
// float operation in a fixed order, no FMA (epilogue.cc builds with -ffp-contract=off), so the
// scalar and vector forms agree on every input. Measured against std::exp over the sigmoid's
// useful range: within a few ulp (test_sigmoid.cc bounds it).
//
// The argument is clamped to [-87, 87], where 2^n stays a normal float: sigmoid(v) for v past
// 87 is 1 and below -87 is at most 2e-38 either way. A NaN argument clamps to 87 (the clamp
// keeps the bound when a comparison fails, as the x86 min/max instructions do), so s is finite.
#pragma once

#include <bit>
#include <cstdint>

namespace scales::bconv {

namespace sigmoid_consts {
inline constexpr float kClamp = 87.0f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kRound = 12582912.0f;         // 1.5 * 2^23: x + kRound - kRound rounds x to an integer
inline constexpr float kLn2Hi = 0.693145751953125f;  // 15 significant bits: n * kLn2Hi is exact for |n| < 2^9
inline constexpr float kLn2Lo = 1.42860682030941723212e-6f;
inline constexpr float kC2 = 1.0f / 2, kC3 = 1.0f / 6, kC4 = 1.0f / 24, kC5 = 1.0f / 120, kC6 = 1.0f / 720,
                       kC7 = 1.0f / 5040;
}  // namespace sigmoid_consts

inline float exp_clamped(float x) {
  using namespace sigmoid_consts;
  x = x < kClamp ? x : kClamp;
  x = x > -kClamp ? x : -kClamp;
  const float n = (x * kLog2e + kRound) - kRound;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float p = kC7;
  p = p * r + kC6;
  p = p * r + kC5;
  p = p * r + kC4;
  p = p * r + kC3;
  p = p * r + kC2;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float two_n = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
  return p * two_n;
}

inline float sigmoid(float v) { return 1.0f / (1.0f + exp_clamped(-v)); }

}  // namespace scales::bconv
