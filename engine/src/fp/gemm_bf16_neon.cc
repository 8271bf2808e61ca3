#include <arm_neon.h>

#include <algorithm>

#include "fp/gemm_neon.h"

namespace scales::fp {

namespace {

inline bfloat16x8_t load(const uint16_t* p) { return vld1q_bf16(reinterpret_cast<const bfloat16_t*>(p)); }

// One 8-deep step of an 8 x 8 tile: each pixel's 8 values are four 2-value lanes; for each lane
// the panel's two 4-column halves for those rows.
template <int L>
inline void lane_step(float32x4_t (&acc)[kNeonGemmRows][2], const bfloat16x8_t (&a)[kNeonGemmRows],
                      const uint16_t* bk) {
  const bfloat16x8_t w0 = load(bk + L * 16), w1 = load(bk + L * 16 + 8);
#pragma GCC unroll 8
  for (int p = 0; p < kNeonGemmRows; ++p) {
    acc[p][0] = vbfdotq_laneq_f32(acc[p][0], w0, a[p], L);
    acc[p][1] = vbfdotq_laneq_f32(acc[p][1], w1, a[p], L);
  }
}

}  // namespace

void gemm_bf16_neon(const uint16_t* a, int m, int k, const uint16_t* b, int n, const float* bias, float* c,
                    size_t ldc) {
  const int panels = (n + kNeonGemmCols - 1) / kNeonGemmCols;
  // Panel outermost: its k * 8 values stay in L1 while every pixel tile streams past.
  for (int j = 0; j < panels; ++j) {
    const uint16_t* panel = b + static_cast<size_t>(j) * k * kNeonGemmCols;
    const int o0 = j * kNeonGemmCols, on = std::min(kNeonGemmCols, n - o0);
    const float32x4_t b0 = vld1q_f32(bias + o0), b1 = vld1q_f32(bias + o0 + 4);
    for (int i = 0; i < m; i += kNeonGemmRows) {
      float32x4_t acc[kNeonGemmRows][2];
#pragma GCC unroll 8
      for (int p = 0; p < kNeonGemmRows; ++p) {
        acc[p][0] = b0;
        acc[p][1] = b1;
      }
      const uint16_t* rows = a + static_cast<size_t>(i) * k;
      for (int r = 0; r < k; r += kGemmBf16Depth) {
        bfloat16x8_t x[kNeonGemmRows];
#pragma GCC unroll 8
        for (int p = 0; p < kNeonGemmRows; ++p) x[p] = load(rows + static_cast<size_t>(p) * k + r);
        const uint16_t* bk = panel + static_cast<size_t>(r) * kNeonGemmCols;
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
        if (on == kNeonGemmCols) {
          vst1q_f32(out, acc[p][0]);
          vst1q_f32(out + 4, acc[p][1]);
        } else {  // the last panel of an output count that is not a multiple of 8
          float tmp[kNeonGemmCols];
          vst1q_f32(tmp, acc[p][0]);
          vst1q_f32(tmp + 4, acc[p][1]);
          std::copy(tmp, tmp + on, out);
        }
      }
    }
  }
}

}  // namespace scales::fp
