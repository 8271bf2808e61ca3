#include "fp/conv3x3_neon.h"

#include <arm_neon.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>

#include "fp/gemm_neon.h"
#include "fp/im2col.h"
#include "fp/quantize.h"

namespace scales::fp {

namespace {
// A chunk's windows are about this size: they are read once per panel of 8 outputs, so they
// should stay in L2 (1 MiB on Neoverse N1, 2 MiB on V1 and later) beside everything else.
constexpr size_t kWindowBytes = size_t{256} << 10;

// x * scale[c], rounded to nearest-even and saturated to [-127, 127], as round_sat in
// fp/quantize.cc (FCVTNS gives NaN 0 and saturates out-of-range values, SQXTN saturates again).
void to_int8(const float* x, size_t pixels, int in, const float* scale, int8_t* q) {
  for (size_t p = 0; p < pixels; ++p, x += in, q += in) {
    int c = 0;
    for (; c + 8 <= in; c += 8) {
      const int32x4_t lo = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + c), vld1q_f32(scale + c)));
      const int32x4_t hi = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + c + 4), vld1q_f32(scale + c + 4)));
      const int8x8_t v = vqmovn_s16(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)));
      vst1_s8(q + c, vmax_s8(v, vdup_n_s8(-127)));
    }
    for (; c < in; ++c) {
      const int32_t v = vcvtns_s32_f32(x[c] * scale[c]);
      q[c] = static_cast<int8_t>(std::clamp(v, -127, 127));
    }
  }
}

// float -> bf16 bits, rounded to nearest even; a NaN stays a (quiet) NaN.
uint16_t bf16_bits(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// bf16_bits four at a time (integer NEON: no BF16 extension needed here).
void to_bf16(const float* x, size_t n, uint16_t* out) {
  const uint32x4_t half = vdupq_n_u32(0x7fffu), one = vdupq_n_u32(1u), inf = vdupq_n_u32(0x7f800000u),
                   abs_mask = vdupq_n_u32(0x7fffffffu), quiet = vdupq_n_u32(0x400000u);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32x4_t u = vreinterpretq_u32_f32(vld1q_f32(x + i));
    const uint32x4_t rounded = vaddq_u32(u, vaddq_u32(half, vandq_u32(vshrq_n_u32(u, 16), one)));
    const uint32x4_t nan = vcgtq_u32(vandq_u32(u, abs_mask), inf);
    vst1_u16(out + i, vshrn_n_u32(vbslq_u32(nan, vorrq_u32(u, quiet), rounded), 16));
  }
  for (; i < n; ++i) out[i] = bf16_bits(x[i]);
}

// Output pixels [first, first + pixels) from the converted band: chunks of about kWindowBytes of
// windows, whole tiles, at least one per thread (a band can be a single row of a wide image),
// spread over OpenMP threads; product(cols, m, out) multiplies one chunk's m windows into `out`.
template <typename T, typename Product>
void run_chunks(const T* band, int s0, int height, int width, int in, int k, int out, long first, long pixels,
                int threads, float* dst, Product product) {
  threads = std::max(1, threads);
  constexpr long tile = kNeonGemmRows;
  long chunk = std::max<long>(tile, static_cast<long>(kWindowBytes / (sizeof(T) * k)) / tile * tile);
  chunk = std::min(chunk, ((pixels + threads - 1) / threads + tile - 1) / tile * tile);
  const int chunks = static_cast<int>((pixels + chunk - 1) / chunk);
  parallel_chunks(chunks, threads, [&](int ch) {
    const long p0 = static_cast<long>(ch) * chunk, p1 = std::min(pixels, p0 + chunk);
    const int m = static_cast<int>(p1 - p0);
    thread_local std::vector<T> cols;  // per thread: not mapped and faulted in each chunk
    cols.resize(static_cast<size_t>((m + tile - 1) / tile * tile) * k);
    im2col_windows(band, s0, height, width, in, k, first + p0, first + p1, kNeonGemmRows, cols.data());
    product(cols.data(), m, dst + static_cast<size_t>(p0) * out);
  });
}
}  // namespace

bool NeonConv3x3::available(Precision p) {
  if (p == Precision::int8) return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  if (p == Precision::bf16) return (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0;
  return false;
}

NeonConv3x3::NeonConv3x3(const ConvParams& c, Precision p) : prec_(p), in_(c.in), out_(c.out) {
  const int panels = (out_ + kNeonGemmCols - 1) / kNeonGemmCols;
  scale_.assign(static_cast<size_t>(panels) * kNeonGemmCols, 0.f);
  bias_.assign(scale_.size(), 0.f);
  std::copy(c.bias.begin(), c.bias.end(), bias_.begin());
  const int depth = p == Precision::int8 ? kGemmS8Depth : kGemmBf16Depth, group = p == Precision::int8 ? 4 : 2;
  k_ = (9 * in_ + depth - 1) / depth * depth;
  const size_t packed = static_cast<size_t>(panels) * k_ * kNeonGemmCols;
  Int8Conv q;
  if (p == Precision::int8) {
    q = quantize_conv(c);
    input_scale_ = q.input_scale;
    std::copy(q.weight_scale.begin(), q.weight_scale.end(), scale_.begin());
    w8_.assign(packed, 0);
  } else {
    w16_.assign(packed, 0);
  }
  // Row r = (ky * 3 + kx) * in + i of the product's right matrix is weight[o][i][ky][kx]; rows past
  // 9 * in and columns past out stay zero.
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i)
      for (int t = 0; t < 9; ++t) {
        const size_t from = (static_cast<size_t>(o) * in_ + i) * 9 + t;
        const size_t at = neon_gemm_packed_index(t * in_ + i, o, k_, group);
        if (p == Precision::int8)
          w8_[at] = q.weight[from];
        else
          w16_[at] = bf16_bits(c.weight[from]);
      }
}

void NeonConv3x3::run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst,
                                   int threads) const {
  if (row1 <= row0 || width <= 0) return;
  const int s0 = std::max(0, row0 - 1), s1 = std::min(height, row1 + 1);
  const size_t band_pixels = static_cast<size_t>(s1 - s0) * width;
  const long first = static_cast<long>(row0) * width, pixels = static_cast<long>(row1 - row0) * width;
  if (prec_ == Precision::int8) {
    // Default-initialised (not zeroed): every value is written by the conversion.
    const std::unique_ptr<int8_t[]> q(new int8_t[band_pixels * in_]);
    to_int8(band, band_pixels, in_, input_scale_.data(), q.get());
    run_chunks(q.get(), s0, height, width, in_, k_, out_, first, pixels, threads, dst,
               [&](const int8_t* cols, int m, float* out) {
                 gemm_s8_neon(cols, m, k_, w8_.data(), out_, scale_.data(), bias_.data(), out, out_);
               });
  } else {
    const std::unique_ptr<uint16_t[]> b(new uint16_t[band_pixels * in_]);
    to_bf16(band, band_pixels * in_, b.get());
    run_chunks(b.get(), s0, height, width, in_, k_, out_, first, pixels, threads, dst,
               [&](const uint16_t* cols, int m, float* out) {
                 gemm_bf16_neon(cols, m, k_, w16_.data(), out_, bias_.data(), out, out_);
               });
  }
}

}  // namespace scales::fp
