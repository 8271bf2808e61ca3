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
    uint64_t pop[8];
    for (int h = 0; h < 4; ++h) vst1q_u64(pop + 2 * h, fold16(acc64[h], acc16[h]));
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    int32_t* o = out + 8 * g;
    for (int l = 0; l < n; ++l) o[l] = w.k_bits - 2 * static_cast<int32_t>(pop[l]);
  }
}

}  // namespace

void bgemm_neon(const Rows& a, const Weights& w, int32_t* out) {
  for (int r = 0; r < a.count; ++r) row_neon(a, r, w, out + static_cast<std::size_t>(r) * w.c_out);
}

}  // namespace scales::bgemm
