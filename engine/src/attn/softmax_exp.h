// The exp of the fused window kernels' softmax (window_avx512.cc, window_avx2.cc): e^x for the
// x = s - max(s) <= 0 of a score row, as 2^n * 2^f with t = x log2(e), n = round(t), f = t - n
// in [-1/2, 1/2], and 2^f a degree-5 polynomial with FMA. About 10 vector operations where the
// engine's general exp (bconv/sigmoid.h: clamped, a degree-7 polynomial, no FMA so that every ISA
// rounds alike) takes 28; that exp was a third of the attention kernel's vector work, more than
// its QK^T and AV FMAs together. The softmax needs no such bit-equality across ISAs: the kernels
// are held to window_ref's std::exp within tolerance (tests/engine/test_attention.cc).
//
// The coefficients are a least-squares fit, weighted for relative error, of (2^f - 1) / f on
// Chebyshev nodes of [-1/2, 1/2] (rounded to float): 1.04e-7 relative error in exact arithmetic,
// under a float's half ulp; the rounding of t adds |t| * 6e-8, which is below 1e-6 for the
// scores that carry weight (x > -16). Scores far below the max come out as 0 or tiny, as they
// should (2^-126 at the least on AVX2, which has no scalef: against a row sum of at least 1).
#pragma once

namespace scales::attn::softmax_exp {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kP1 = 0.6931468844413757f, kP2 = 0.24022237956523895f, kP3 = 0.05550893023610115f,
                       kP4 = 0.009671698324382305f, kP5 = 0.0013218672247603536f;

}  // namespace scales::attn::softmax_exp
