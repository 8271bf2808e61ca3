// The epilogue fused with the next layer's preparation, x86-64 AVX-512F (compiled with -mavx512f
// -ffp-contract=off): one pass over a row's pixels computes z (epilogue_row), then, from z still
// in registers, the next layer's sign bits, its spatial factor s[p] (16 pixels at a time) and
// its channel sums (prepare_row). The generic pair reads the row from L2 three times; this reads
// it once. At 16, 32, 48 and 64 channels (every model's width) a row runs unmasked with the
// per-channel factors held in registers and the channel sums in double registers; other widths
// take masked 16-channel steps and a separate channel-sum pass.
//
// Measured (scales-latency, B16 C64 x2 at 256x256, 2 threads, this build against the one before,
// alternating, 2026-12-03): the body 77-81 -> 57-62 ms, the whole pass 139-142 -> 117-119 ms.
//
// It must equal epilogue_row + prepare_row (epilogue.cc) bit for bit (tests/engine/
// test_epilogue.cc, and the backend harness through the fused body): every product and sum is
// formed in the same order, each rounded (no FMA), the dot product's 16 lanes and fold are the
// reference's dot16, the sigmoid is sigmoid.h's, and each channel sum adds its pixels in order.
#include <immintrin.h>

#include <cstddef>

#include "bconv/epilogue.h"
#include "bconv/row_args.h"
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

// One pixel at any channel count: 16-channel steps, the last one masked.
inline __m512 pixel_any(const RowArgs& a, int channels, const int32_t* yp, float* zp, __m512 s, uint64_t* packed,
                        __m512 zero) {
  __m512 acc = zero;
  uint64_t word = 0;
  for (int c0 = 0; c0 < channels; c0 += 16) {
    const int left = channels - c0;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
    __m512 g = _mm512_maskz_loadu_ps(m, a.gk + c0);
    if (a.s_row) g = _mm512_mul_ps(g, s);
    if (a.cfac) g = _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m, a.cfac + c0));
    const __m512 y = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, yp + c0));
    __m512 z = _mm512_add_ps(_mm512_maskz_loadu_ps(m, zp + c0), _mm512_mul_ps(y, g));
    if (a.prelu) {
      const __mmask16 neg = _mm512_cmp_ps_mask(z, zero, _CMP_LT_OQ);
      z = _mm512_mask_mul_ps(z, neg, _mm512_maskz_loadu_ps(m, a.prelu + c0), z);
    }
    _mm512_mask_storeu_ps(zp + c0, m, z);
    if (!a.next) continue;
    const __m512 u = a.shift ? _mm512_add_ps(z, _mm512_maskz_loadu_ps(m, a.shift + c0)) : z;
    word |= static_cast<uint64_t>(_mm512_mask_cmp_ps_mask(m, u, zero, _CMP_LT_OQ)) << (c0 & 63);
    if ((c0 & 63) == 48 || left <= 16) {
      packed[c0 / 64] = word;
      word = 0;
    }
    if (a.sw) acc = _mm512_mask_add_ps(acc, m, acc, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a.sw + c0), z));
  }
  return acc;
}

// A whole row at 16 * NV channels (NV <= 4: one sign word a pixel), the widths the models use:
// no masks, and every per-channel factor loaded once a row instead of once a pixel. The channel
// sums ride along in double registers, each channel still adding its pixels in order.
template <int NV>
void row_fixed(const RowArgs& a, int width, const int32_t* ybin, float* x_row, uint64_t* packed_row, float* s_next,
               double* sums) {
  constexpr int C = 16 * NV;
  const __m512 zero = _mm512_setzero_ps();
  __m512 gk[NV], cf[NV], sl[NV], sh[NV], sw[NV];
  __m512d sum[2 * NV];
  for (int v = 0; v < NV; ++v) {
    gk[v] = _mm512_loadu_ps(a.gk + 16 * v);
    cf[v] = a.cfac ? _mm512_loadu_ps(a.cfac + 16 * v) : zero;
    sl[v] = a.prelu ? _mm512_loadu_ps(a.prelu + 16 * v) : zero;
    sh[v] = a.shift ? _mm512_loadu_ps(a.shift + 16 * v) : zero;
    sw[v] = a.sw ? _mm512_loadu_ps(a.sw + 16 * v) : zero;
    if (a.sums) {
      sum[2 * v] = _mm512_loadu_pd(sums + 16 * v);
      sum[2 * v + 1] = _mm512_loadu_pd(sums + 16 * v + 8);
    }
  }
  __m512 block[16];
  for (int p0 = 0; p0 < width; p0 += 16) {
    const int n = width - p0 < 16 ? width - p0 : 16;
    for (int i = 0; i < n; ++i) {
      const int p = p0 + i;
      const int32_t* yp = ybin + static_cast<std::size_t>(p) * C;
      float* zp = x_row + static_cast<std::size_t>(p) * C;
      const __m512 s = _mm512_set1_ps(a.s_row ? a.s_row[p] : 1.0f);
      __m512 acc = zero;
      uint64_t word = 0;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        __m512 g = gk[v];
        if (a.s_row) g = _mm512_mul_ps(g, s);
        if (a.cfac) g = _mm512_mul_ps(g, cf[v]);
        const __m512 y = _mm512_cvtepi32_ps(_mm512_loadu_si512(yp + 16 * v));
        __m512 z = _mm512_add_ps(_mm512_loadu_ps(zp + 16 * v), _mm512_mul_ps(y, g));
        if (a.prelu) z = _mm512_mask_mul_ps(z, _mm512_cmp_ps_mask(z, zero, _CMP_LT_OQ), sl[v], z);
        _mm512_storeu_ps(zp + 16 * v, z);
        if (a.sums) {
          sum[2 * v] = _mm512_add_pd(sum[2 * v], _mm512_cvtps_pd(_mm512_castps512_ps256(z)));
          sum[2 * v + 1] = _mm512_add_pd(
              sum[2 * v + 1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1))));
        }
        if (!a.next) continue;
        const __m512 u = a.shift ? _mm512_add_ps(z, sh[v]) : z;
        word |= static_cast<uint64_t>(_mm512_cmp_ps_mask(u, zero, _CMP_LT_OQ)) << (16 * v);
        if (a.sw) acc = _mm512_add_ps(acc, _mm512_mul_ps(sw[v], z));
      }
      if (a.next) packed_row[p] = word;
      block[i] = acc;
    }
    if (!a.sw) continue;
    for (int i = n; i < 16; ++i) block[i] = zero;
    const __mmask16 out = n == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
    _mm512_mask_storeu_ps(s_next + p0, out, spatial_block(block, a.spatial_b));
  }
  if (a.sums)
    for (int v = 0; v < NV; ++v) {
      _mm512_storeu_pd(sums + 16 * v, sum[2 * v]);
      _mm512_storeu_pd(sums + 16 * v + 8, sum[2 * v + 1]);
    }
}

}  // namespace

void epilogue_prepare_row_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                 const float* prelu_slope, int width, int channels, float* x_row,
                                 const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums) {
  const RowArgs a = row_args(gk, s_row, cfac, prelu_slope, next);
  switch (channels) {
    case 16: return row_fixed<1>(a, width, ybin, x_row, packed_row, s_next, sums);
    case 32: return row_fixed<2>(a, width, ybin, x_row, packed_row, s_next, sums);
    case 48: return row_fixed<3>(a, width, ybin, x_row, packed_row, s_next, sums);
    case 64: return row_fixed<4>(a, width, ybin, x_row, packed_row, s_next, sums);
    default: break;
  }
  const int words = (channels + 63) / 64;
  const __m512 zero = _mm512_setzero_ps();
  __m512 block[16];  // the spatial partial sums of pixels p0 .. p0 + 15
  for (int p0 = 0; p0 < width; p0 += 16) {
    const int n = width - p0 < 16 ? width - p0 : 16;
    for (int i = 0; i < n; ++i) {
      const int p = p0 + i;
      const __m512 s = _mm512_set1_ps(s_row ? s_row[p] : 1.0f);
      block[i] = pixel_any(a, channels, ybin + static_cast<std::size_t>(p) * channels,
                           x_row + static_cast<std::size_t>(p) * channels, s,
                           packed_row ? packed_row + static_cast<std::size_t>(p) * words : nullptr, zero);
    }
    if (!a.sw) continue;
    for (int i = n; i < 16; ++i) block[i] = zero;
    const __mmask16 out = n == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
    _mm512_mask_storeu_ps(s_next + p0, out, spatial_block(block, a.spatial_b));
  }
  if (a.sums) channel_sums_row(x_row, width, channels, sums);
}

// dot16 per token as pixel_any accumulates it (16-channel steps in channel order, each product
// and sum rounded, the tail masked into lanes 0..), then spatial_block's fold and sigmoid for 16
// tokens at once.
void spatial_factors_avx512(const float* w, float b, const float* x, int width, int channels, float* s) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 block[16];
  for (int p0 = 0; p0 < width; p0 += 16) {
    const int n = width - p0 < 16 ? width - p0 : 16;
    for (int i = 0; i < n; ++i) {
      const float* xp = x + static_cast<std::size_t>(p0 + i) * channels;
      __m512 acc = zero;
      for (int c0 = 0; c0 < channels; c0 += 16) {
        const int left = channels - c0;
        const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
        acc = _mm512_mask_add_ps(acc, m, acc,
                                 _mm512_mul_ps(_mm512_maskz_loadu_ps(m, w + c0), _mm512_maskz_loadu_ps(m, xp + c0)));
      }
      block[i] = acc;
    }
    for (int i = n; i < 16; ++i) block[i] = zero;
    const __mmask16 out = n == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
    _mm512_mask_storeu_ps(s + p0, out, spatial_block(block, b));
  }
}

}  // namespace scales::bconv
