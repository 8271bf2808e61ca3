// The epilogue fused with the next layer's preparation, x86-64 AVX-512F (compiled with -mavx512f
// -ffp-contract=off): one pass over a row's pixels computes z (epilogue_row), then, from z still
// in registers, the next layer's sign bits and its spatial factor s[p] (prepare_row). The generic
// pair reads the row from L2 three times; this reads it once. Channel sums stay a pass of their
// own (channel_sums_row): per pixel they would load and store C doubles.
//
// It must equal epilogue_row + prepare_row (epilogue.cc) bit for bit (tests/engine/
// test_epilogue.cc, and the backend harness through the fused body): every product and sum is
// formed in the same order, each rounded (no FMA), and the dot product's 16 lanes and fold are
// the reference's dot16.
#include <immintrin.h>

#include <cmath>
#include <cstddef>

#include "bconv/epilogue.h"

namespace scales::bconv {

namespace {
// dot16's fold: lanes l += l + 8, then l += l + 4, then l += l + 2, then lane 0 + lane 1.
float fold16(__m512 acc) {
  const __m256 a8 =
      _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
  const __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
  const __m128 a2 = _mm_add_ps(a4, _mm_movehl_ps(a4, a4));
  return _mm_cvtss_f32(a2) + _mm_cvtss_f32(_mm_shuffle_ps(a2, a2, 1));
}
}  // namespace

void epilogue_prepare_row_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                 const float* prelu_slope, int width, int channels, float* x_row,
                                 const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums) {
  const int words = (channels + 63) / 64;
  const float* shift = next && !next->shift.empty() ? next->shift.data() : nullptr;
  const float* sw = next && !next->spatial_w.empty() ? next->spatial_w.data() : nullptr;
  const __m512 zero = _mm512_setzero_ps();
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<std::size_t>(p) * channels;
    float* zp = x_row + static_cast<std::size_t>(p) * channels;
    const __m512 s = _mm512_set1_ps(s_row ? s_row[p] : 1.0f);
    __m512 acc = zero;
    uint64_t word = 0;
    for (int c0 = 0; c0 < channels; c0 += 16) {
      const int left = channels - c0;
      const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
      __m512 g = _mm512_maskz_loadu_ps(m, gk + c0);
      if (s_row) g = _mm512_mul_ps(g, s);
      if (cfac) g = _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m, cfac + c0));
      const __m512 y = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, yp + c0));
      __m512 z = _mm512_add_ps(_mm512_maskz_loadu_ps(m, zp + c0), _mm512_mul_ps(y, g));
      if (prelu_slope) {
        const __mmask16 neg = _mm512_cmp_ps_mask(z, zero, _CMP_LT_OQ);
        z = _mm512_mask_mul_ps(z, neg, _mm512_maskz_loadu_ps(m, prelu_slope + c0), z);
      }
      _mm512_mask_storeu_ps(zp + c0, m, z);
      if (!next) continue;
      const __m512 u = shift ? _mm512_add_ps(z, _mm512_maskz_loadu_ps(m, shift + c0)) : z;
      word |= static_cast<uint64_t>(_mm512_mask_cmp_ps_mask(m, u, zero, _CMP_LT_OQ)) << (c0 & 63);
      if ((c0 & 63) == 48 || left <= 16) {
        packed_row[static_cast<std::size_t>(p) * words + c0 / 64] = word;
        word = 0;
      }
      if (sw) acc = _mm512_mask_add_ps(acc, m, acc, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, sw + c0), z));
    }
    if (sw) s_next[p] = 1.0f / (1.0f + std::exp(-(fold16(acc) + next->spatial_b)));
  }
  if (next && !next->fc1_w.empty()) channel_sums_row(x_row, width, channels, sums);
}

}  // namespace scales::bconv
