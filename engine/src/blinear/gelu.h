// GELU, x * Phi(x) with Phi the standard normal CDF: the exact (erf) form PyTorch's nn.GELU()
// computes, for SwinIR's MLP. It is applied inside the binary fc1's output loop
// (backend/cpu/linear.cc), on each chunk of tokens while it is in cache, instead of as a pass of
// its own over the whole hidden tensor (twice the model's width, the largest tensor per layer).
//
// Phi(x) = 1 - erfc(z) / 2 for x >= 0 and erfc(z) / 2 below, z = |x| / sqrt(2), so neither side
// subtracts two nearly equal numbers. erfc(z) = t (a1 + t (a2 + ... + t a5)) exp(-z^2),
// t = 1 / (1 + p z): Abramowitz & Stegun's formula 7.1.26 (erf within 1.5e-7 for every z), with
// the engine's exp (bconv/sigmoid.h). Every operation is one rounded IEEE float operation in a
// fixed order, no FMA (the translation units that use it build with -ffp-contract=off), so the
// vector forms (gelu_avx512.h, gelu_avx2.h) equal this one lane by lane; tests/engine/test_gelu.cc
// holds them equal, and this one within 3e-7 * max(1, |x|) of the erf form in double precision.
//
// A NaN stays NaN (x times a finite Phi); +inf gives +inf and -inf NaN, as x * Phi(x) does.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "bconv/sigmoid.h"

namespace scales::blinear {

namespace gelu_consts {
inline constexpr float kRsqrt2 = 0.707106781186547524f;
inline constexpr float kP = 0.3275911f;
inline constexpr float kA1 = 0.254829592f, kA2 = -0.284496736f, kA3 = 1.421413741f, kA4 = -1.453152027f,
                       kA5 = 1.061405429f;
}  // namespace gelu_consts

inline float gelu(float x) {
  using namespace gelu_consts;
  const float z = std::bit_cast<float>(std::bit_cast<uint32_t>(x) & 0x7fffffffu) * kRsqrt2;  // |x| / sqrt(2)
  const float t = 1.0f / (1.0f + kP * z);
  float p = kA5;
  p = p * t + kA4;
  p = p * t + kA3;
  p = p * t + kA2;
  p = p * t + kA1;
  const float half_erfc = 0.5f * ((p * t) * bconv::exp_clamped(-(z * z)));
  return x * (x < 0.0f ? half_erfc : 1.0f - half_erfc);
}

// y[i] = gelu(y[i]) for i < n: the generic form, and each x86 kernel variant's vector form
// (kernels/variant.h), equal to it bit for bit.
void gelu_rows(float* y, size_t n);
void gelu_rows_avx2(float* y, size_t n);
void gelu_rows_avx512(float* y, size_t n);
using GeluRowsFn = void (*)(float* y, size_t n);

}  // namespace scales::blinear
