// Binary GEMM, aarch64 NEON (Advanced SIMD is baseline on aarch64, no extra flags).
//
// Layout as in the AVX-512 kernel (bgemm_avx512.cc): 8 output channels per group, here four
// uint64x2 vectors; the row's activation word is broadcast. VCNT counts bits per byte and VPADAL
// adds byte pairs into 16-bit lanes, folded into 64-bit lanes every kNeonStepsPerFold steps
// (popcount_neon.h). One row at a time.
#include <arm_neon.h>

#include <cstddef>

#include "bgemm/bgemm.h"
#include "bgemm/popcount_neon.h"

namespace scales::bgemm {

namespace {

inline void row_neon(const Rows& a, int r0, const Weights& w, int32_t* out) {
  // Locals, not a.*: the compiler then keeps them in registers across the unrolled loops.
  const int runs = a.runs, run_words = a.run_words, stride = a.stride;
  const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(r0) * stride;
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * w.k_words * 8;
    uint64x2_t acc64[4];
    uint16x8_t acc16[4];
    for (int h = 0; h < 4; ++h) {
      acc64[h] = vdupq_n_u64(0);
      acc16[h] = vdupq_n_u16(0);
    }
    int pending = 0;
    for (int s = 0; s < runs; ++s) {
      const uint64_t* r = a.run[s] + first;
      const uint64_t* ws = wg + static_cast<std::size_t>(s) * run_words * 8;
      for (int j = 0; j < run_words; ++j) {
        const uint64x2_t av = vdupq_n_u64(r[j]);
#pragma GCC unroll 4
        for (int h = 0; h < 4; ++h) {
          const uint64x2_t wv = vld1q_u64(ws + static_cast<std::size_t>(j) * 8 + 2 * h);
          acc16[h] = popcnt_xor_acc(acc16[h], wv, av);
        }
        if (++pending == kNeonStepsPerFold) {
          for (int h = 0; h < 4; ++h) {
            acc64[h] = fold16(acc64[h], acc16[h]);
            acc16[h] = vdupq_n_u16(0);
          }
          pending = 0;
        }
      }
    }
    // k_bits - 2 * pop in vector form: each 64-bit count (< 2^32) narrowed by taking its low
    // half (UZP1 of two registers gives 4 channels in order). A scalar loop over the 8 lanes had
    // been most of the kernel at the linear's 1-2 words a row.
    uint32x4_t pop[2];
    for (int q = 0; q < 2; ++q)
      pop[q] = vuzp1q_u32(vreinterpretq_u32_u64(fold16(acc64[2 * q], acc16[2 * q])),
                          vreinterpretq_u32_u64(fold16(acc64[2 * q + 1], acc16[2 * q + 1])));
    const int32x4_t k = vdupq_n_s32(w.k_bits);
    int32x4_t dot[2];
    for (int q = 0; q < 2; ++q) dot[q] = vsubq_s32(k, vreinterpretq_s32_u32(vshlq_n_u32(pop[q], 1)));
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    int32_t* o = out + 8 * g;
    if (n == 8) {
      vst1q_s32(o, dot[0]);
      vst1q_s32(o + 4, dot[1]);
    } else {
      int32_t d[8];
      vst1q_s32(d, dot[0]);
      vst1q_s32(d + 4, dot[1]);
      for (int l = 0; l < n; ++l) o[l] = d[l];
    }
  }
}

}  // namespace

void bgemm_neon(const Rows& a, const Weights& w, int32_t* out) {
  for (int r = 0; r < a.count; ++r) row_neon(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
}

}  // namespace scales::bgemm
