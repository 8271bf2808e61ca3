// gelu.h's GELU on 16 floats at a time (AVX-512F, -ffp-contract=off): the scalar form's
// operations in its order, so equal to it lane by lane; the tail under a mask.
#include <immintrin.h>

#include "bconv/sigmoid_avx512.h"
#include "blinear/gelu.h"

namespace scales::blinear {

namespace {

inline __m512 gelu16(__m512 x) {
  using namespace gelu_consts;
  const __m512 z =
      _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff))),
                    _mm512_set1_ps(kRsqrt2));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 t = _mm512_div_ps(one, _mm512_add_ps(one, _mm512_mul_ps(_mm512_set1_ps(kP), z)));
  __m512 p = _mm512_set1_ps(kA5);
  p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(kA4));
  p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(kA3));
  p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(kA2));
  p = _mm512_add_ps(_mm512_mul_ps(p, t), _mm512_set1_ps(kA1));
  const __m512 neg_z2 =
      _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(z, z)), _mm512_set1_epi32(INT32_MIN)));
  const __m512 half_erfc =
      _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_mul_ps(_mm512_mul_ps(p, t), bconv::exp_clamped16(neg_z2)));
  // x < 0 (ordered: a NaN takes the x >= 0 side, as the scalar comparison does)
  const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 phi = _mm512_mask_blend_ps(neg, _mm512_sub_ps(one, half_erfc), half_erfc);
  return _mm512_mul_ps(x, phi);
}

}  // namespace

void gelu_rows_avx512(float* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gelu16(_mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, gelu16(_mm512_maskz_loadu_ps(m, y + i)));
  }
}

}  // namespace scales::blinear
