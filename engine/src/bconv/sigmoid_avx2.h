// sigmoid.h's sigmoid on 8 floats (AVX2; included only by translation units compiled with -mavx2
// -ffp-contract=off): the same operations in the same order as the scalar form, so equal to it
// lane by lane (tests/engine/test_sigmoid.cc).
#pragma once

#include <immintrin.h>

#include "bconv/sigmoid.h"

namespace scales::bconv {

inline __m256 exp_clamped8(__m256 x) {
  using namespace sigmoid_consts;
  // _mm256_min_ps(x, c) is x < c ? x : c, as the scalar form (a NaN takes the bound).
  x = _mm256_min_ps(x, _mm256_set1_ps(kClamp));
  x = _mm256_max_ps(x, _mm256_set1_ps(-kClamp));
  const __m256 round = _mm256_set1_ps(kRound);
  const __m256 n = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), round), round);
  const __m256 r = _mm256_sub_ps(_mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(kLn2Hi))),
                                 _mm256_mul_ps(n, _mm256_set1_ps(kLn2Lo)));
  auto step = [&](__m256 p, float c) { return _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(c)); };
  __m256 p = _mm256_set1_ps(kC7);
  p = step(p, kC6);
  p = step(p, kC5);
  p = step(p, kC4);
  p = step(p, kC3);
  p = step(p, kC2);
  p = step(p, 1.0f);
  p = step(p, 1.0f);
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 sigmoid8(__m256 v) {
  const __m256 neg = _mm256_xor_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN)));
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_clamped8(neg)));
}

}  // namespace scales::bconv
