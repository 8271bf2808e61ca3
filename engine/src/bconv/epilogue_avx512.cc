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

#include <cstddef>

#include "bconv/epilogue.h"
#include "bconv/sigmoid_avx512.h"

namespace scales::bconv {

namespace {

// The spatial factors of 16 pixels from their 16-lane partial sums acc[i] (pixel i): dot16's
// fold (lanes l += l + 8, then l += l + 4, then l += l + 2, then lane 0 + lane 1) done for all 16
// pixels at once, each level adding the same two values per pixel as the scalar fold, with the
// pixels shuffled across lanes instead of the lanes folded within one register; then
// sigmoid(dot + b) on all 16 lanes. Per pixel, a horizontal fold and a libm exp had been a
// latency chain of some 60 cycles.
__m512 spatial_block(const __m512* acc, float b) {
  __m512 h8[8], h4[4], h2[2];
  for (int i = 0; i < 8; ++i)  // quarters: pixel 2i lanes 0-7 (two quarters), pixel 2i+1 lanes 0-7
    h8[i] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int j = 0; j < 4; ++j)  // quarter q: pixel 4j+q, lanes 0-3
    h4[j] = _mm512_add_ps(_mm512_shuffle_f32x4(h8[2 * j], h8[2 * j + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_f32x4(h8[2 * j], h8[2 * j + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  for (int k = 0; k < 2; ++k)  // quarter q: pixels 8k+q and 8k+4+q, lanes 0-1 each
    h2[k] = _mm512_add_ps(_mm512_shuffle_ps(h4[2 * k], h4[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_ps(h4[2 * k], h4[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // lane 4q+g: pixel 4g+q
  const __m512 dot = _mm512_add_ps(_mm512_shuffle_ps(h2[0], h2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_ps(h2[0], h2[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 ordered =
      _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), dot);
  return sigmoid16(_mm512_add_ps(ordered, _mm512_set1_ps(b)));
}

}  // namespace

void epilogue_prepare_row_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                 const float* prelu_slope, int width, int channels, float* x_row,
                                 const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums) {
  const int words = (channels + 63) / 64;
  const float* shift = next && !next->shift.empty() ? next->shift.data() : nullptr;
  const float* sw = next && !next->spatial_w.empty() ? next->spatial_w.data() : nullptr;
  const __m512 zero = _mm512_setzero_ps();
  __m512 block[16];  // the spatial partial sums of pixels p0 .. p0 + 15
  for (int p0 = 0; p0 < width; p0 += 16) {
    const int n = width - p0 < 16 ? width - p0 : 16;
    for (int i = 0; i < n; ++i) {
      const int p = p0 + i;
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
      block[i] = acc;
    }
    if (!sw) continue;
    for (int i = n; i < 16; ++i) block[i] = zero;
    const __mmask16 out = n == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
    _mm512_mask_storeu_ps(s_next + p0, out, spatial_block(block, next->spatial_b));
  }
  if (next && !next->fc1_w.empty()) channel_sums_row(x_row, width, channels, sums);
}

}  // namespace scales::bconv
