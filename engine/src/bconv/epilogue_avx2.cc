// The epilogue fused with the next layer's preparation, x86-64 AVX2 (compiled with -mavx2
// -ffp-contract=off): the AVX-512 form's plan (epilogue_avx512.cc) in 8-lane registers. One pass
// over a row computes z (epilogue_row) and, from z still in registers, the next layer's sign
// bits, the 16 partial sums of its spatial dot product and its channel sums; the dot products are
// folded and their sigmoids taken 8 pixels at a time. AVX2 has 16 vector registers, too few to
// hold the per-channel factors of a 64-channel pixel, so at 16-64 channels (row_fixed) the row
// goes in 32-pixel blocks, swept once per 8-channel group with that group's factors in registers;
// other widths take the pixel-by-pixel form below, reloading the factors from L1 per pixel, with
// the channel sums a pass of their own (channel_sums_row).
//
// Measured (scales-latency, B16 C64 x2 at 256x256, 2 threads, --kernel avx2 with oneDNN held to
// AVX2, on the AVX-512 CPU of docs/benchmarks.md, each build against the one before, alternating):
// 2026-12-03, this file's first form against the generic epilogue_row and prepare_row (two
// passes over each row, a libm exp per pixel): the body 333-335 -> 277-278 ms. 2026-12-05,
// row_fixed against the pixel-by-pixel form at 64 channels: the body 151-157 -> 138-145 ms
// (medians of 9 passes, three runs; docs/benchmarks.md).
//
// It must equal epilogue_row + prepare_row (epilogue.cc) bit for bit (tests/engine/
// test_epilogue.cc, and the backend harness through the fused body): every product and sum is
// formed in the same order, each rounded (no FMA), the dot product's 16 lanes (here two 8-lane
// halves) and fold are the reference's dot16, and the sigmoid is sigmoid.h's.
#include <immintrin.h>

#include <cstddef>

#include "bconv/epilogue.h"
#include "bconv/row_args.h"
#include "bconv/sigmoid_avx2.h"

namespace scales::bconv {

namespace {

// dot16's fold of lanes lo (0-7) and hi (8-15): l += l + 8, then l += l + 4, then l += l + 2,
// then lane 0 + lane 1.
inline float fold16(__m256 lo, __m256 hi) {
  const __m256 a8 = _mm256_add_ps(lo, hi);
  const __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
  const __m128 a2 = _mm_add_ps(a4, _mm_movehl_ps(a4, a4));
  return _mm_cvtss_f32(a2) + _mm_cvtss_f32(_mm_shuffle_ps(a2, a2, 1));
}

// Lanes [0, n) set, as a load/store mask (n in 0..8).
inline __m256i lane_mask(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// The spatial factors of 8 pixels from their dot16 halves (part[i][0]: lanes 0-7, part[i][1]:
// lanes 8-15 of pixel i): fold16's levels done for all 8 pixels at once, each level adding the
// same two values per pixel as fold16 does (the pixels shuffled across lanes instead of the lanes
// folded within one register), then sigmoid(dot + b) on 8 lanes.
inline __m256 spatial8(const float (*part)[2][8], float b) {
  __m256 a8[8], a4[4], a2[2];
  for (int i = 0; i < 8; ++i) a8[i] = _mm256_add_ps(_mm256_load_ps(part[i][0]), _mm256_load_ps(part[i][1]));
  for (int j = 0; j < 4; ++j)  // halves: pixel 2j lanes 0-3, pixel 2j+1 lanes 0-3
    a4[j] = _mm256_add_ps(_mm256_permute2f128_ps(a8[2 * j], a8[2 * j + 1], 0x20),
                          _mm256_permute2f128_ps(a8[2 * j], a8[2 * j + 1], 0x31));
  for (int k = 0; k < 2; ++k)  // low half: pixels 4k, 4k+2 (2 lanes each); high half: 4k+1, 4k+3
    a2[k] = _mm256_add_ps(_mm256_shuffle_ps(a4[2 * k], a4[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm256_shuffle_ps(a4[2 * k], a4[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // lanes: pixels 0, 2, 4, 6, 1, 3, 5, 7
  const __m256 dot = _mm256_add_ps(_mm256_shuffle_ps(a2[0], a2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm256_shuffle_ps(a2[0], a2[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m256 ordered = _mm256_permutevar8x32_ps(dot, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  return sigmoid8(_mm256_add_ps(ordered, _mm256_set1_ps(b)));
}

// A whole row at C = 8 * NV channels (2 <= NV <= 8: one sign word a pixel), the widths the models use.
// With 16 vector registers the per-channel factors of a 64-channel pixel do not fit, and loading
// them again for every pixel made the pixel-by-pixel form three times slower per pixel than the
// AVX-512 one. So the loops are turned: blocks of kBlock pixels, whose z rows (8 KB at 64
// channels), kernel sums and spatial partial sums stay in L1, are swept once per 8-channel group,
// with that group's five factors and two double channel sums held in registers. Every value is
// formed by the same operations in the same order as before: each pixel's dot16 half v % 2 still
// adds its groups in channel order, each channel sum its pixels in pixel order, and a pixel's
// sign word is assembled a byte (8 channels) at a time in place.
template <int NV, bool kAll, bool kPrelu>
void row_fixed(const RowArgs& a, int width, const int32_t* ybin, float* x_row, uint64_t* packed_row, float* s_next,
               double* sums) {
  constexpr int C = 8 * NV;
  // kAll: every part but PReLU present (each SCALES conv of EDSR's body but the last), known at
  // compile time, as PReLU's presence is; otherwise each part is tested at run time.
  const bool has_s = kAll || a.s_row, has_cf = kAll || a.cfac, has_prelu = kPrelu, has_shift = kAll || a.shift,
             has_sw = kAll || a.sw, has_sums = kAll || a.sums, has_next = kAll || a.next;
  constexpr int kBlock = 32;
  const __m256 zero = _mm256_setzero_ps();
  alignas(32) float part[kBlock][2][8];                  // dot16's lanes 0-7 and 8-15 of each pixel of the block
  auto* bytes = reinterpret_cast<uint8_t*>(packed_row);  // x86 is little-endian: byte v = channels 8v .. 8v + 7
  for (int p0 = 0; p0 < width; p0 += kBlock) {
    const int n = width - p0 < kBlock ? width - p0 : kBlock;
    for (int v = 0; v < NV; ++v) {
      const __m256 gk = _mm256_loadu_ps(a.gk + 8 * v);
      const __m256 cf = has_cf ? _mm256_loadu_ps(a.cfac + 8 * v) : zero;
      const __m256 sl = has_prelu ? _mm256_loadu_ps(a.prelu + 8 * v) : zero;
      const __m256 sh = has_shift ? _mm256_loadu_ps(a.shift + 8 * v) : zero;
      const __m256 sw = has_sw ? _mm256_loadu_ps(a.sw + 8 * v) : zero;
      __m256d sum_lo = _mm256_setzero_pd(), sum_hi = _mm256_setzero_pd();
      if (has_sums) {
        sum_lo = _mm256_loadu_pd(sums + 8 * v);
        sum_hi = _mm256_loadu_pd(sums + 8 * v + 4);
      }
      for (int i = 0; i < n; ++i) {
        const int p = p0 + i;
        // The next block's z and kernel sums, half a line per step: the sweep over the block has
        // touched all of them by its end.
        const std::size_t ahead = static_cast<std::size_t>(p0 + kBlock) * C + (static_cast<std::size_t>(v) * n + i) * 8;
        if (p0 + kBlock < width) {
          _mm_prefetch(reinterpret_cast<const char*>(x_row + ahead), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(ybin + ahead), _MM_HINT_T0);
        }
        float* zp = x_row + static_cast<std::size_t>(p) * C + 8 * v;
        __m256 g = gk;
        if (has_s) g = _mm256_mul_ps(g, _mm256_broadcast_ss(a.s_row + p));
        if (has_cf) g = _mm256_mul_ps(g, cf);
        const __m256 y = _mm256_cvtepi32_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ybin + static_cast<std::size_t>(p) * C + 8 * v)));
        __m256 z = _mm256_add_ps(_mm256_loadu_ps(zp), _mm256_mul_ps(y, g));
        if (has_prelu) z = _mm256_blendv_ps(z, _mm256_mul_ps(sl, z), _mm256_cmp_ps(z, zero, _CMP_LT_OQ));
        _mm256_storeu_ps(zp, z);
        if (has_sums) {
          sum_lo = _mm256_add_pd(sum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(z)));
          sum_hi = _mm256_add_pd(sum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(z, 1)));
        }
        if (!has_next) continue;
        const __m256 u = has_shift ? _mm256_add_ps(z, sh) : z;
        const auto bits = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(u, zero, _CMP_LT_OQ)));
        if (v == 0)
          packed_row[p] = bits;  // the word's other bytes: 0, or written by the groups below
        else
          bytes[static_cast<std::size_t>(p) * 8 + v] = static_cast<uint8_t>(bits);
        if (has_sw) {
          float* acc = part[i][v & 1];
          const __m256 prev = v < 2 ? zero : _mm256_load_ps(acc);
          _mm256_store_ps(acc, _mm256_add_ps(prev, _mm256_mul_ps(sw, z)));
        }
      }
      if (has_sums) {
        _mm256_storeu_pd(sums + 8 * v, sum_lo);
        _mm256_storeu_pd(sums + 8 * v + 4, sum_hi);
      }
    }
    if (!has_sw) continue;
    for (int q0 = 0; q0 < n; q0 += 8) {
      const int m = n - q0 < 8 ? n - q0 : 8;
      for (int i = m; i < 8; ++i) {  // lanes past the row: computed, never stored
        _mm256_store_ps(part[q0 + i][0], zero);
        _mm256_store_ps(part[q0 + i][1], zero);
      }
      const __m256 sv = spatial8(part + q0, a.spatial_b);
      if (m == 8)
        _mm256_storeu_ps(s_next + p0 + q0, sv);
      else
        _mm256_maskstore_ps(s_next + p0 + q0, lane_mask(m), sv);
    }
  }
}

template <int NV>
void row_fixed_any(bool all, const RowArgs& a, int width, const int32_t* ybin, float* x_row, uint64_t* packed_row,
                   float* s_next, double* sums) {
  if (all && a.prelu) return row_fixed<NV, true, true>(a, width, ybin, x_row, packed_row, s_next, sums);
  if (all) return row_fixed<NV, true, false>(a, width, ybin, x_row, packed_row, s_next, sums);
  if (a.prelu) return row_fixed<NV, false, true>(a, width, ybin, x_row, packed_row, s_next, sums);
  row_fixed<NV, false, false>(a, width, ybin, x_row, packed_row, s_next, sums);
}

}  // namespace

void epilogue_prepare_row_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                               const float* prelu_slope, int width, int channels, float* x_row,
                               const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums) {
  const RowArgs a = row_args(gk, s_row, cfac, prelu_slope, next);
  const float *shift = a.shift, *sw = a.sw;
  const bool all = a.all_parts();
  switch (channels) {
    case 16: return row_fixed_any<2>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    case 32: return row_fixed_any<4>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    case 48: return row_fixed_any<6>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    case 64: return row_fixed_any<8>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    default: break;
  }
  const int words = (channels + 63) / 64;
  const __m256 zero = _mm256_setzero_ps();
  const bool full = channels % 8 == 0;
  const __m256i tail = lane_mask(channels % 8);
  alignas(32) float dots[8] = {};  // spatial dot products of pixels p0 .. p0 + 7
  for (int p0 = 0; p0 < width; p0 += 8) {
    const int n = width - p0 < 8 ? width - p0 : 8;
    for (int i = 0; i < n; ++i) {
      const int p = p0 + i;
      const int32_t* yp = ybin + static_cast<std::size_t>(p) * channels;
      float* zp = x_row + static_cast<std::size_t>(p) * channels;
      const __m256 s = _mm256_set1_ps(s_row ? s_row[p] : 1.0f);
      __m256 acc[2] = {zero, zero};  // dot16's lanes 0-7 and 8-15
      uint64_t word = 0;
      for (int c0 = 0; c0 < channels; c0 += 8) {
        const bool part = !full && channels - c0 < 8;
        // Masked loads read zeros past the row's channels, as the reference never reads them.
        auto load = [&](const float* q) { return part ? _mm256_maskload_ps(q + c0, tail) : _mm256_loadu_ps(q + c0); };
        __m256 g = load(gk);
        if (s_row) g = _mm256_mul_ps(g, s);
        if (cfac) g = _mm256_mul_ps(g, load(cfac));
        const __m256i yi =
            part ? _mm256_maskload_epi32(yp + c0, tail) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yp + c0));
        __m256 z = _mm256_add_ps(load(zp), _mm256_mul_ps(_mm256_cvtepi32_ps(yi), g));
        if (prelu_slope)
          z = _mm256_blendv_ps(z, _mm256_mul_ps(load(prelu_slope), z), _mm256_cmp_ps(z, zero, _CMP_LT_OQ));
        if (part) {
          _mm256_maskstore_ps(zp + c0, tail, z);
        } else {
          _mm256_storeu_ps(zp + c0, z);
        }
        if (!next) continue;
        const __m256 u = shift ? _mm256_add_ps(z, load(shift)) : z;
        uint64_t bits = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(u, zero, _CMP_LT_OQ)));
        if (part) bits &= (uint64_t{1} << (channels - c0)) - 1;
        word |= bits << (c0 & 63);
        if ((c0 & 63) == 56 || channels - c0 <= 8) {
          packed_row[static_cast<std::size_t>(p) * words + c0 / 64] = word;
          word = 0;
        }
        if (sw) {
          // Lanes past the row's channels add w = 0 times z = 0: +0, as the reference's
          // untouched accumulator lanes hold.
          __m256& a = acc[(c0 / 8) & 1];
          a = _mm256_add_ps(a, _mm256_mul_ps(load(sw), part ? _mm256_and_ps(z, _mm256_castsi256_ps(tail)) : z));
        }
      }
      if (sw) dots[i] = fold16(acc[0], acc[1]);
    }
    if (!sw) continue;
    const __m256 sv = sigmoid8(_mm256_add_ps(_mm256_load_ps(dots), _mm256_set1_ps(next->spatial_b)));
    if (n == 8) {
      _mm256_storeu_ps(s_next + p0, sv);
    } else {
      _mm256_maskstore_ps(s_next + p0, lane_mask(n), sv);
    }
  }
  if (next && !next->fc1_w.empty()) channel_sums_row(x_row, width, channels, sums);
}

// dot16 per token in two 8-lane halves (8-channel steps in channel order alternating between
// the halves, each product and sum rounded), then spatial8's fold and sigmoid for 8 tokens at
// once. A partial last step multiplies the weights' tail, loaded once with zeros past the
// channels, by the token's masked tail: those lanes add +0, as the reference's untouched lanes
// hold +0 (a sum that starts at +0 is never -0). (Until 2026-12-05 each token was folded on its
// own, a scalar chain, with both tails loaded masked per token: 5.3% of the samples of a
// paper-size SwinIR x2 pass on AVX2.)
void spatial_factors_avx2(const float* w, float b, const float* x, int width, int channels, float* s) {
  const __m256 zero = _mm256_setzero_ps();
  const int whole = channels / 8 * 8;
  const __m256i tail = lane_mask(channels - whole);
  const __m256 w_tail = whole < channels ? _mm256_maskload_ps(w + whole, tail) : zero;
  alignas(32) float part[8][2][8];
  for (int p0 = 0; p0 < width; p0 += 8) {
    const int n = width - p0 < 8 ? width - p0 : 8;
    for (int i = 0; i < n; ++i) {
      const float* xp = x + static_cast<std::size_t>(p0 + i) * channels;
      // Two named accumulators, not an array indexed by (c0 / 8) & 1: that index kept the
      // array in memory, a store and a reload per step.
      __m256 lo = zero, hi = zero;
      auto step = [&](int c0) { return _mm256_mul_ps(_mm256_loadu_ps(w + c0), _mm256_loadu_ps(xp + c0)); };
      int c0 = 0;
      for (; c0 + 16 <= whole; c0 += 16) {
        lo = _mm256_add_ps(lo, step(c0));
        hi = _mm256_add_ps(hi, step(c0 + 8));
      }
      if (c0 < whole) lo = _mm256_add_ps(lo, step(c0));  // then c0 + 8 == whole: the tail goes to hi
      if (whole < channels) {
        const __m256 t = _mm256_mul_ps(w_tail, _mm256_maskload_ps(xp + whole, tail));
        if ((whole / 8) & 1)
          hi = _mm256_add_ps(hi, t);
        else
          lo = _mm256_add_ps(lo, t);
      }
      _mm256_store_ps(part[i][0], lo);
      _mm256_store_ps(part[i][1], hi);
    }
    for (int i = n; i < 8; ++i) {  // lanes past the tokens: computed, never stored
      _mm256_store_ps(part[i][0], zero);
      _mm256_store_ps(part[i][1], zero);
    }
    const __m256 sv = spatial8(part, b);
    if (n == 8)
      _mm256_storeu_ps(s + p0, sv);
    else
      _mm256_maskstore_ps(s + p0, lane_mask(n), sv);
  }
}

}  // namespace scales::bconv
