// GELU, x * Phi(x) with Phi the standard normal CDF: the exact (erf) form PyTorch's nn.GELU()
// computes, for SwinIR's MLP. It is applied inside the binary fc1's output loop
// (backend/cpu/linear.cc), on each chunk of tokens while it is in cache, instead of as a pass of
// its own over the whole hidden tensor (twice the model's width, the largest tensor per layer).
//
// Phi(x) = 1 - erfc(z) / 2 for x >= 0 and erfc(z) / 2 below, z = |x| / sqrt(2), so neither side
// subtracts two nearly equal numbers. erfc(z) = t (a1 + t (a2 + ... + t a5)) exp(-z^2),
// t = 1 / (1 + p z): Abramowitz & Stegun's formula 7.1.26 (erf within 1.5e-7 for every z).
// exp(-z^2) is 2^n 2^f with a degree-5 polynomial for 2^f (attn/softmax_exp.h's), and the
// polynomials are evaluated with FMA: about half the vector operations of the engine's general
// exp with separately rounded steps, which had made GELU 7% of a SwinIR forward (perf). Every
// operation is still one IEEE operation, rounded once, in a fixed order: the scalar form writes
// its FMAs as std::fma (exactly rounded, in hardware or in libm), so the vector forms
// (gelu_avx2.cc, gelu_avx512.cc) equal this one lane by lane; tests/engine/test_gelu.cc holds
// them equal, and this one within 3e-7 * max(1, |x|) of the erf form in double precision.
//
// A NaN stays NaN (x times a finite Phi); +inf gives +inf and -inf NaN, as x * Phi(x) does.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "attn/softmax_exp.h"

namespace scales::blinear {

namespace gelu_consts {
inline constexpr float kRsqrt2 = 0.707106781186547524f;
inline constexpr float kP = 0.3275911f;
inline constexpr float kA1 = 0.254829592f, kA2 = -0.284496736f, kA3 = 1.421413741f, kA4 = -1.453152027f,
                       kA5 = 1.061405429f;
// exp(x) = 2^t, t = x log2(e) held at -126 or above (2^n stays a normal float: below that erfc
// is under 1e-37 anyway), n = round(t), f = t - n in [-1/2, 1/2], 2^f = 1 + f (e1 + f (e2 + ...)).
// The e_k are attn/softmax_exp.h's fit (1.04e-7 relative error), one set of numbers for both.
inline constexpr float kLog2e = attn::softmax_exp::kLog2e, kMinT = -126.0f;
inline constexpr float kE1 = attn::softmax_exp::kP1, kE2 = attn::softmax_exp::kP2, kE3 = attn::softmax_exp::kP3,
                       kE4 = attn::softmax_exp::kP4, kE5 = attn::softmax_exp::kP5;
}  // namespace gelu_consts

// e^x for x <= 0 (x = -z^2), as the vector forms compute it (max as x86's: a NaN takes the bound).
inline float gelu_exp(float x) {
  using namespace gelu_consts;
  float t = x * kLog2e;
  t = t > kMinT ? t : kMinT;
  const float n = std::nearbyint(t);  // round half to even, as the vector round instructions
  const float f = t - n;
  float p = std::fma(kE5, f, kE4);
  p = std::fma(p, f, kE3);
  p = std::fma(p, f, kE2);
  p = std::fma(p, f, kE1);
  p = std::fma(p, f, 1.0f);
  return p * std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
}

inline float gelu(float x) {
  using namespace gelu_consts;
  const float z = std::bit_cast<float>(std::bit_cast<uint32_t>(x) & 0x7fffffffu) * kRsqrt2;  // |x| / sqrt(2)
  const float t = 1.0f / std::fma(kP, z, 1.0f);
  float p = std::fma(kA5, t, kA4);
  p = std::fma(p, t, kA3);
  p = std::fma(p, t, kA2);
  p = std::fma(p, t, kA1);
  const float half_erfc = 0.5f * ((p * t) * gelu_exp(-(z * z)));
  return x * (x < 0.0f ? half_erfc : 1.0f - half_erfc);
}

// y[i] = gelu(y[i]) for i < n: the generic form, and each kernel variant's vector form
// (kernels/variant.h), equal to it bit for bit.
void gelu_rows(float* y, size_t n);
void gelu_rows_avx2(float* y, size_t n);
void gelu_rows_avx512(float* y, size_t n);
void gelu_rows_neon(float* y, size_t n);
using GeluRowsFn = void (*)(float* y, size_t n);

}  // namespace scales::blinear
