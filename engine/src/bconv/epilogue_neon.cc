// The epilogue fused with the next layer's preparation, aarch64 NEON (compiled with
// -ffp-contract=off): the AVX2 form's plan (epilogue_avx2.cc) in 4-lane registers. At 16, 32, 48
// and 64 channels (every model's width) a row goes in blocks of 32 pixels, swept once per group of
// 8 channels with that group's factors and channel sums in registers; each sweep computes z
// (epilogue_row) and, from z still in registers, the group's byte of the next layer's sign word,
// its share of the spatial dot product and its channel sums. The spatial dot products are folded
// four pixels at a time and their sigmoids taken on four lanes. Other widths run the generic
// epilogue_row, then prepare_row with the NEON sign packing.
//
// It must equal epilogue_row + prepare_row (epilogue.cc) bit for bit (tests/engine/
// test_epilogue.cc, and the backend harness through the fused body): every product and sum is
// formed in the same order, each rounded (no FMA), the dot product's 16 lanes (here four 4-lane
// quarters) and fold are the reference's dot16, the sigmoid is sigmoid.h's, and each channel sum
// adds its pixels in order.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "bconv/epilogue.h"
#include "bconv/row_args.h"
#include "bconv/sigmoid_neon.h"
#include "bgemm/sign_bytes_neon.h"
#include "kernels/neon_partial.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a sign word is written a byte (8 channels) at a time");

namespace scales::bconv {

namespace {

// dot16's first two fold levels on one pixel's quarters (lanes 0-3, 4-7, 8-11, 12-15):
// l += l + 8, then l += l + 4.
inline float32x4_t fold_to4(float32x4_t q0, float32x4_t q1, float32x4_t q2, float32x4_t q3) {
  return vaddq_f32(vaddq_f32(q0, q2), vaddq_f32(q1, q3));
}

// The last two levels (l += l + 2, then lane 0 + lane 1) for four pixels at once, each adding the
// same two values per pixel as dot16, then sigmoid(dot + b): lanes = pixels a, b, c, d.
inline float32x4_t spatial4(float32x4_t a, float32x4_t b, float32x4_t c, float32x4_t d, float bias) {
  auto half_sums = [](float32x4_t x, float32x4_t y) {  // [x0 + x2, x1 + x3, y0 + y2, y1 + y3]
    const float64x2_t x64 = vreinterpretq_f64_f32(x), y64 = vreinterpretq_f64_f32(y);
    return vaddq_f32(vreinterpretq_f32_f64(vzip1q_f64(x64, y64)), vreinterpretq_f32_f64(vzip2q_f64(x64, y64)));
  };
  const float32x4_t dot = vpaddq_f32(half_sums(a, b), half_sums(c, d));
  return sigmoid4(vaddq_f32(dot, vdupq_n_f32(bias)));
}

// A whole row at C = 8 * NG channels (2 <= NG <= 8: one sign word a pixel). kAll: every part but
// PReLU present (each conv of EDSR's body but the last), known at compile time as PReLU's
// presence is; otherwise each part is tested at run time.
template <int NG, bool kAll, bool kPrelu>
void row_fixed(const RowArgs& a, int width, const int32_t* ybin, float* x_row, uint64_t* packed_row, float* s_next,
               double* sums) {
  constexpr int C = 8 * NG;
  constexpr int kBlock = 32;
  const bool has_s = kAll || a.s_row, has_cf = kAll || a.cfac, has_shift = kAll || a.shift, has_sw = kAll || a.sw,
             has_sums = kAll || a.sums, has_next = kAll || a.next;
  const float32x4_t zero = vdupq_n_f32(0.0f);
  float part[kBlock][16];  // each pixel's dot16 lanes
  auto* bytes = reinterpret_cast<uint8_t*>(packed_row);
  for (int p0 = 0; p0 < width; p0 += kBlock) {
    const int n = width - p0 < kBlock ? width - p0 : kBlock;
    for (int v = 0; v < NG; ++v) {
      float32x4_t gk[2], cf[2], sl[2], sh[2], sw[2];
      float64x2_t sum[4];
      for (int h = 0; h < 2; ++h) {
        const int c = 8 * v + 4 * h;
        gk[h] = vld1q_f32(a.gk + c);
        cf[h] = has_cf ? vld1q_f32(a.cfac + c) : zero;
        sl[h] = kPrelu ? vld1q_f32(a.prelu + c) : zero;
        sh[h] = has_shift ? vld1q_f32(a.shift + c) : zero;
        sw[h] = has_sw ? vld1q_f32(a.sw + c) : zero;
      }
      for (int k = 0; k < 4; ++k) sum[k] = has_sums ? vld1q_f64(sums + 8 * v + 2 * k) : vdupq_n_f64(0.0);
      const int lane0 = 8 * (v & 1);  // dot16 lanes of channels 8v .. 8v + 7
      for (int i = 0; i < n; ++i) {
        const int p = p0 + i;
        // The next block's pixels, a quarter line per step: the sweep has touched them all by
        // its end.
        if (p0 + kBlock < width) {
          const std::size_t ahead =
              static_cast<std::size_t>(p0 + kBlock) * C + (static_cast<std::size_t>(v) * n + i) * 8;
          __builtin_prefetch(x_row + ahead, 1, 3);
          __builtin_prefetch(ybin + ahead, 0, 3);
        }
        float* zp = x_row + static_cast<std::size_t>(p) * C + 8 * v;
        const int32_t* yp = ybin + static_cast<std::size_t>(p) * C + 8 * v;
        const float32x4_t s = has_s ? vld1q_dup_f32(a.s_row + p) : zero;
        float32x4_t z[2];
        for (int h = 0; h < 2; ++h) {
          float32x4_t g = gk[h];
          if (has_s) g = vmulq_f32(g, s);
          if (has_cf) g = vmulq_f32(g, cf[h]);
          z[h] = vaddq_f32(vld1q_f32(zp + 4 * h), vmulq_f32(vcvtq_f32_s32(vld1q_s32(yp + 4 * h)), g));
          if (kPrelu) z[h] = vbslq_f32(vcltq_f32(z[h], zero), vmulq_f32(sl[h], z[h]), z[h]);
          vst1q_f32(zp + 4 * h, z[h]);
          if (has_sums) {
            sum[2 * h] = vaddq_f64(sum[2 * h], vcvt_f64_f32(vget_low_f32(z[h])));
            sum[2 * h + 1] = vaddq_f64(sum[2 * h + 1], vcvt_high_f64_f32(z[h]));
          }
        }
        if (!has_next) continue;
        const uint8_t b = has_shift ? bgemm::sign_byte8(vaddq_f32(z[0], sh[0]), vaddq_f32(z[1], sh[1]))
                                    : bgemm::sign_byte8(z[0], z[1]);
        if (v == 0)
          packed_row[p] = b;  // the word's other bytes: 0, or written by the groups below
        else
          bytes[static_cast<std::size_t>(p) * 8 + v] = b;
        if (has_sw)
          for (int h = 0; h < 2; ++h) {
            float* acc = part[i] + lane0 + 4 * h;
            const float32x4_t prev = v < 2 ? zero : vld1q_f32(acc);
            vst1q_f32(acc, vaddq_f32(prev, vmulq_f32(sw[h], z[h])));
          }
      }
      if (has_sums)
        for (int k = 0; k < 4; ++k) vst1q_f64(sums + 8 * v + 2 * k, sum[k]);
    }
    if (!has_next || !has_sw) continue;
    for (int q0 = 0; q0 < n; q0 += 4) {
      float32x4_t a4[4];
      for (int j = 0; j < 4; ++j) {
        const float* pj = part[q0 + j < n ? q0 + j : q0];  // lanes past the row: computed, never stored
        a4[j] = fold_to4(vld1q_f32(pj), vld1q_f32(pj + 4), vld1q_f32(pj + 8), vld1q_f32(pj + 12));
      }
      kernels::store_first(s_next + p0 + q0, spatial4(a4[0], a4[1], a4[2], a4[3], a.spatial_b),
                           n - q0 < 4 ? n - q0 : 4);
    }
  }
}

template <int NG>
void row_fixed_any(bool all, const RowArgs& a, int width, const int32_t* ybin, float* x_row, uint64_t* packed_row,
                   float* s_next, double* sums) {
  if (all && a.prelu) return row_fixed<NG, true, true>(a, width, ybin, x_row, packed_row, s_next, sums);
  if (all) return row_fixed<NG, true, false>(a, width, ybin, x_row, packed_row, s_next, sums);
  if (a.prelu) return row_fixed<NG, false, true>(a, width, ybin, x_row, packed_row, s_next, sums);
  row_fixed<NG, false, false>(a, width, ybin, x_row, packed_row, s_next, sums);
}

}  // namespace

void epilogue_prepare_row_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                               const float* prelu_slope, int width, int channels, float* x_row,
                               const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums) {
  const RowArgs a = row_args(gk, s_row, cfac, prelu_slope, next);
  const bool all = a.all_parts();
  switch (channels) {
    case 16: return row_fixed_any<2>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    case 32: return row_fixed_any<4>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    case 48: return row_fixed_any<6>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    case 64: return row_fixed_any<8>(all, a, width, ybin, x_row, packed_row, s_next, sums);
    default: break;
  }
  epilogue_row(gk, s_row, cfac, ybin, prelu_slope, width, channels, x_row);
  if (next) prepare_row(*next, bgemm::pack_signs_neon, x_row, width, channels, packed_row, s_next, sums);
}

// dot16 per token in four 4-lane quarters (4-channel steps in channel order, each product and
// sum rounded; a last partial step reads zeros past the channels, adding +0 to lanes the
// reference leaves untouched, which no sum of products can have made -0), then spatial4's fold
// and sigmoid for 4 tokens at once.
void spatial_factors_neon(const float* w, float b, const float* x, int width, int channels, float* s) {
  const float32x4_t zero = vdupq_n_f32(0.0f);
  const int full = channels / 4 * 4;
  const float32x4_t wt4 = full < channels ? kernels::load_first(w + full, channels - full) : zero;
  for (int p0 = 0; p0 < width; p0 += 4) {
    const int n = width - p0 < 4 ? width - p0 : 4;
    float32x4_t a4[4];
    for (int j = 0; j < 4; ++j) {
      const float* xp = x + static_cast<std::size_t>(p0 + (j < n ? j : 0)) * channels;
      // Four named accumulators (quarter (c0 / 4) % 4 of dot16's lanes), not an array indexed
      // by the step, which would live in memory.
      float32x4_t q0 = zero, q1 = zero, q2 = zero, q3 = zero;
      auto add_at = [&](int k, float32x4_t v) {
        switch (k) {
          case 0: q0 = vaddq_f32(q0, v); break;
          case 1: q1 = vaddq_f32(q1, v); break;
          case 2: q2 = vaddq_f32(q2, v); break;
          default: q3 = vaddq_f32(q3, v); break;
        }
      };
      auto step = [&](int c0) { return vmulq_f32(vld1q_f32(w + c0), vld1q_f32(xp + c0)); };
      int c0 = 0;
      for (; c0 + 16 <= full; c0 += 16) {
        q0 = vaddq_f32(q0, step(c0));
        q1 = vaddq_f32(q1, step(c0 + 4));
        q2 = vaddq_f32(q2, step(c0 + 8));
        q3 = vaddq_f32(q3, step(c0 + 12));
      }
      for (int k = 0; c0 < full; ++k, c0 += 4) add_at(k, step(c0));
      if (full < channels) add_at((full / 4) & 3, vmulq_f32(wt4, kernels::load_first(xp + full, channels - full)));
      a4[j] = fold_to4(q0, q1, q2, q3);
    }
    kernels::store_first(s + p0, spatial4(a4[0], a4[1], a4[2], a4[3], b), n);
  }
}

}  // namespace scales::bconv
