// sigmoid.h's sigmoid on 16 floats (AVX-512F; included only by translation units compiled with
// -mavx512f -ffp-contract=off): the same operations in the same order, so equal lane by lane to
// the scalar form for every input (tests/engine/test_sigmoid.cc).
#pragma once

#include <immintrin.h>

#include "bconv/sigmoid.h"

namespace scales::bconv {

inline __m512 exp_clamped16(__m512 x) {
  using namespace sigmoid_consts;
  // min(x, c) is x < c ? x : c and max(x, c) is x > c ? x : c, as in the scalar form (a NaN
  // takes the bound).
  x = _mm512_min_ps(x, _mm512_set1_ps(kClamp));
  x = _mm512_max_ps(x, _mm512_set1_ps(-kClamp));
  const __m512 round = _mm512_set1_ps(kRound);
  const __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), round), round);
  const __m512 r = _mm512_sub_ps(_mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(kLn2Hi))),
                                 _mm512_mul_ps(n, _mm512_set1_ps(kLn2Lo)));
  auto step = [&](__m512 p, float c) { return _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(c)); };
  __m512 p = _mm512_set1_ps(kC7);
  p = step(p, kC6);
  p = step(p, kC5);
  p = step(p, kC4);
  p = step(p, kC3);
  p = step(p, kC2);
  p = step(p, 1.0f);
  p = step(p, 1.0f);
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

inline __m512 sigmoid16(__m512 v) {
  const __m512 neg = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp_clamped16(neg)));
}

}  // namespace scales::bconv
