#include <arm_neon.h>

#include <algorithm>

#include "fp/gemm_neon.h"

namespace scales::fp {

namespace {

// One 16-deep step of an 8 x 8 tile: the eight pixels' 16 bytes each, and for each of the four
// 4-byte lanes the panel's two 4-column halves for those rows.
template <int L>
inline void lane_step(int32x4_t (&acc)[kNeonGemmRows][2], const int8x16_t (&a)[kNeonGemmRows], const int8_t* bk) {
  const int8x16_t w0 = vld1q_s8(bk + L * 32), w1 = vld1q_s8(bk + L * 32 + 16);
#pragma GCC unroll 8
  for (int p = 0; p < kNeonGemmRows; ++p) {
    acc[p][0] = vdotq_laneq_s32(acc[p][0], w0, a[p], L);
    acc[p][1] = vdotq_laneq_s32(acc[p][1], w1, a[p], L);
  }
}

}  // namespace

void gemm_s8_neon(const int8_t* a, int m, int k, const int8_t* b, int n, const float* scale, const float* bias,
                  float* c, size_t ldc) {
  const int panels = (n + kNeonGemmCols - 1) / kNeonGemmCols;
  // Panel outermost: its k * 8 bytes stay in L1 while every pixel tile streams past.
  for (int j = 0; j < panels; ++j) {
    const int8_t* panel = b + static_cast<size_t>(j) * k * kNeonGemmCols;
    const int o0 = j * kNeonGemmCols, on = std::min(kNeonGemmCols, n - o0);
    const float32x4_t s0 = vld1q_f32(scale + o0), s1 = vld1q_f32(scale + o0 + 4);
    const float32x4_t b0 = vld1q_f32(bias + o0), b1 = vld1q_f32(bias + o0 + 4);
    for (int i = 0; i < m; i += kNeonGemmRows) {
      int32x4_t acc[kNeonGemmRows][2];
#pragma GCC unroll 8
      for (int p = 0; p < kNeonGemmRows; ++p) acc[p][0] = acc[p][1] = vdupq_n_s32(0);
      const int8_t* rows = a + static_cast<size_t>(i) * k;
      for (int r = 0; r < k; r += kGemmS8Depth) {
        int8x16_t x[kNeonGemmRows];
#pragma GCC unroll 8
        for (int p = 0; p < kNeonGemmRows; ++p) x[p] = vld1q_s8(rows + static_cast<size_t>(p) * k + r);
        const int8_t* bk = panel + static_cast<size_t>(r) * kNeonGemmCols;
        lane_step<0>(acc, x, bk);
        lane_step<1>(acc, x, bk);
        lane_step<2>(acc, x, bk);
        lane_step<3>(acc, x, bk);
      }
      const int rows_here = std::min(kNeonGemmRows, m - i);
      // Unrolled with constant indices, so the accumulators stay in registers.
#pragma GCC unroll 8
      for (int p = 0; p < kNeonGemmRows; ++p) {
        if (p >= rows_here) break;
        float* out = c + static_cast<size_t>(i + p) * ldc + o0;
        const float32x4_t y0 = vfmaq_f32(b0, vcvtq_f32_s32(acc[p][0]), s0);
        const float32x4_t y1 = vfmaq_f32(b1, vcvtq_f32_s32(acc[p][1]), s1);
        if (on == kNeonGemmCols) {
          vst1q_f32(out, y0);
          vst1q_f32(out + 4, y1);
        } else {  // the last panel of an output count that is not a multiple of 8
          float tmp[kNeonGemmCols];
          vst1q_f32(tmp, y0);
          vst1q_f32(tmp + 4, y1);
          std::copy(tmp, tmp + on, out);
        }
      }
    }
  }
}

}  // namespace scales::fp
