// gelu.h's GELU on 16 floats at a time (AVX-512F, -ffp-contract=off, FMA only where written): the scalar form's
// operations in its order, so equal to it lane by lane; the tail under a mask.
#include <immintrin.h>

#include "blinear/gelu.h"

namespace scales::blinear {

namespace {

inline __m512 exp16(__m512 x) {
  using namespace gelu_consts;
  __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(kLog2e));
  t = _mm512_max_ps(t, _mm512_set1_ps(kMinT));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kE5), f, _mm512_set1_ps(kE4));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kE3));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kE2));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kE1));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

inline __m512 gelu16(__m512 x) {
  using namespace gelu_consts;
  const __m512 z =
      _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff))),
                    _mm512_set1_ps(kRsqrt2));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(kP), z, one));
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kA5), t, _mm512_set1_ps(kA4));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kA3));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kA2));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(kA1));
  const __m512 neg_z2 =
      _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(z, z)), _mm512_set1_epi32(INT32_MIN)));
  const __m512 half_erfc = _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_mul_ps(_mm512_mul_ps(p, t), exp16(neg_z2)));
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
