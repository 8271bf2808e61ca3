// gelu.h's GELU on 8 floats at a time (AVX2 + FMA, -ffp-contract=off: FMA only where written): the scalar form's
// operations in its order, so equal to it lane by lane; the tail through the scalar form.
#include <immintrin.h>

#include "blinear/gelu.h"

namespace scales::blinear {

namespace {

inline __m256 exp8(__m256 x) {
  using namespace gelu_consts;
  __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(kLog2e));
  t = _mm256_max_ps(t, _mm256_set1_ps(kMinT));
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kE5), f, _mm256_set1_ps(kE4));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kE3));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kE2));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kE1));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 gelu8(__m256 x) {
  using namespace gelu_consts;
  const __m256 z =
      _mm256_mul_ps(_mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))), _mm256_set1_ps(kRsqrt2));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(kP), z, one));
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kA5), t, _mm256_set1_ps(kA4));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(kA3));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(kA2));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(kA1));
  const __m256 neg_z2 = _mm256_xor_ps(_mm256_mul_ps(z, z), _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN)));
  const __m256 half_erfc = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_mul_ps(_mm256_mul_ps(p, t), exp8(neg_z2)));
  // x < 0 (ordered: a NaN takes the x >= 0 side, as the scalar comparison does)
  const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 phi = _mm256_blendv_ps(_mm256_sub_ps(one, half_erfc), half_erfc, neg);
  return _mm256_mul_ps(x, phi);
}

}  // namespace

void gelu_rows_avx2(float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = gelu(y[i]);
}

}  // namespace scales::blinear
