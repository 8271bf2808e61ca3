#include "fp/conv3x3_narrow.h"

#include <omp.h>
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#include <algorithm>
#include <cstddef>

#include "kernels/isa_clones.h"

namespace scales::fp {

namespace {

// Helpers are inlined into each clone of row(), so they are built for its ISA too.
#define SCALES_INLINE inline __attribute__((always_inline))

// Input channels per partial sum: one vector register of them. 16 fills AVX-512's (the x86-64-v4
// clone; two registers in the AVX2 one). NEON's registers hold 4: with 16 lanes the sums of 4
// pixels x 3 outputs took 48 of its 32 registers and spilled (0.68 multiply-adds per instruction
// counted under qemu: docs/benchmarks.md, "ARM: the FP convs").
#if defined(__aarch64__)
constexpr int kLanes = 4;
#else
constexpr int kLanes = 16;
#endif
constexpr int kPixels = 4;  // output pixels sharing each weight load

SCALES_INLINE float fold(const float* a) {
  if constexpr (kLanes == 4) {
    return (a[0] + a[2]) + (a[1] + a[3]);
  } else {
    float s[8];
    for (int l = 0; l < 8; ++l) s[l] = a[l] + a[l + 8];
    for (int l = 0; l < 4; ++l) s[l] += s[l + 4];
    return (s[0] + s[2]) + (s[1] + s[3]);
  }
}

// kPixels interior pixels starting at x0 (their 3x3 windows inside the row): C a multiple of kLanes.
#if defined(__aarch64__)
// NEON: the same sums in intrinsics, so the accumulators are registers (GCC kept the plain loop's
// array in memory, storing six registers back every step). One step reads kPixels input vectors
// and O weight vectors for kPixels * O FMAs.
template <int O>
SCALES_INLINE void block(const float* const rows[3], int x0, int C, const float* w, const float* bias, float* out) {
  float32x4_t acc[kPixels][O];
#pragma GCC unroll 4
  for (int j = 0; j < kPixels; ++j)
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) acc[j][o] = vdupq_n_f32(0.f);
  for (int ky = 0; ky < 3; ++ky) {
    if (!rows[ky]) continue;
    for (int kx = 0; kx < 3; ++kx) {
      const float* in = rows[ky] + static_cast<std::size_t>(x0 + kx - 1) * C;
      const float* wt = w + static_cast<std::size_t>(ky * 3 + kx) * C;
      for (int cb = 0; cb < C; cb += kLanes) {
        float32x4_t x[kPixels], k[O];
#pragma GCC unroll 4
        for (int j = 0; j < kPixels; ++j) x[j] = vld1q_f32(in + static_cast<std::size_t>(j) * C + cb);
#pragma GCC unroll 4
        for (int o = 0; o < O; ++o) k[o] = vld1q_f32(wt + static_cast<std::size_t>(o) * 9 * C + cb);
#pragma GCC unroll 4
        for (int j = 0; j < kPixels; ++j)
#pragma GCC unroll 4
          for (int o = 0; o < O; ++o) acc[j][o] = vfmaq_f32(acc[j][o], k[o], x[j]);
      }
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < kPixels; ++j)
#pragma GCC unroll 4
    for (int o = 0; o < O; ++o) {
      float a[kLanes];
      vst1q_f32(a, acc[j][o]);
      out[j * O + o] = bias[o] + fold(a);
    }
}
#else
template <int O>
SCALES_INLINE void block(const float* const rows[3], int x0, int C, const float* w, const float* bias, float* out) {
  float acc[kPixels][O][kLanes] = {};
  for (int ky = 0; ky < 3; ++ky) {
    if (!rows[ky]) continue;
    for (int kx = 0; kx < 3; ++kx) {
      const float* in = rows[ky] + static_cast<std::size_t>(x0 + kx - 1) * C;
      const float* wt = w + static_cast<std::size_t>(ky * 3 + kx) * C;
      for (int cb = 0; cb < C; cb += kLanes)
        for (int j = 0; j < kPixels; ++j)
          for (int o = 0; o < O; ++o)
            for (int l = 0; l < kLanes; ++l)
              acc[j][o][l] +=
                  wt[static_cast<std::size_t>(o) * 9 * C + cb + l] * in[static_cast<std::size_t>(j) * C + cb + l];
    }
  }
  for (int j = 0; j < kPixels; ++j)
    for (int o = 0; o < O; ++o) out[j * O + o] = bias[o] + fold(acc[j][o]);
}
#endif

// Any one pixel: border pixels, and every pixel when C is not a multiple of kLanes.
SCALES_INLINE void pixel(const float* const rows[3], int x, int width, int C, int O, const float* w, const float* bias,
                         float* out) {
  for (int o = 0; o < O; ++o) {
    float s = 0.0f;
    for (int ky = 0; ky < 3; ++ky) {
      if (!rows[ky]) continue;
      for (int kx = 0; kx < 3; ++kx) {
        const int xx = x + kx - 1;
        if (xx < 0 || xx >= width) continue;
        const float* in = rows[ky] + static_cast<std::size_t>(xx) * C;
        const float* wt = w + (static_cast<std::size_t>(o) * 9 + ky * 3 + kx) * C;
        for (int c = 0; c < C; ++c) s += wt[c] * in[c];
      }
    }
    out[o] = bias[o] + s;
  }
}

template <int O>
SCALES_ISA_CLONES void row(const float* const rows[3], int width, int C, const float* w, const float* bias,
                           float* out) {
  int x = 0;
  const bool blocks = C % kLanes == 0 && width >= kPixels + 2;
  if (blocks) {
    pixel(rows, 0, width, C, O, w, bias, out);
    for (x = 1; x + kPixels <= width - 1; x += kPixels)
      block<O>(rows, x, C, w, bias, out + static_cast<std::size_t>(x) * O);
  }
  for (; x < width; ++x) pixel(rows, x, width, C, O, w, bias, out + static_cast<std::size_t>(x) * O);
}

using RowFn = void (*)(const float* const rows[3], int width, int C, const float* w, const float* bias, float* out);

RowFn row_for(int out) {
  switch (out) {
    case 1: return row<1>;
    case 2: return row<2>;
    case 3: return row<3>;
    default: return row<4>;
  }
}

}  // namespace

NarrowConv3x3::NarrowConv3x3(const ConvParams& c) : in_(c.in), out_(c.out), bias_(c.bias) {
  w_.resize(static_cast<std::size_t>(out_) * 9 * in_);
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i)
      for (int k = 0; k < 9; ++k)
        w_[(static_cast<std::size_t>(o) * 9 + k) * in_ + i] = c.weight[(static_cast<std::size_t>(o) * in_ + i) * 9 + k];
}

void NarrowConv3x3::run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst,
                                     int threads) const {
  const int s0 = std::max(0, row0 - 1);
  const std::size_t in_row = static_cast<std::size_t>(width) * in_, out_row = static_cast<std::size_t>(width) * out_;
  const RowFn fn = row_for(out_);
#pragma omp parallel for num_threads(std::max(1, threads)) schedule(static)
  for (int y = row0; y < row1; ++y) {
    const float* rows[3];
    for (int k = 0; k < 3; ++k) {
      const int yy = y + k - 1;
      rows[k] = yy < 0 || yy >= height ? nullptr : band + static_cast<std::size_t>(yy - s0) * in_row;
    }
    fn(rows, width, in_, w_.data(), bias_.data(), dst + static_cast<std::size_t>(y - row0) * out_row);
  }
}

}  // namespace scales::fp
