// Binary linear, aarch64 NEON: 8 output channels per group in four uint64x2 vectors (lane8
// weights), the token's word broadcast, VCNT per byte and VPADAL into 16-bit lanes, folded into
// 64-bit lanes every 4095 steps (as in bconv3x3_neon.cc).
#include <arm_neon.h>

#include <cstddef>

#include "bconv/popcount_neon.h"
#include "blinear/kernel.h"

namespace scales::blinear {

void blinear_neon(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out) {
  const int words = w.words;
  for (int t = 0; t < tokens; ++t) {
    const uint64_t* at = a + static_cast<std::size_t>(t) * words;
    for (int g = 0; g < w.groups(); ++g) {
      const uint64_t* wg = w.lane8.data() + static_cast<std::size_t>(g) * words * 8;
      uint64x2_t acc64[4];
      uint16x8_t acc16[4];
      for (int h = 0; h < 4; ++h) {
        acc64[h] = vdupq_n_u64(0);
        acc16[h] = vdupq_n_u16(0);
      }
      int pending = 0;
      for (int j = 0; j < words; ++j) {
        const uint64x2_t av = vdupq_n_u64(at[j]);
#pragma GCC unroll 4
        for (int h = 0; h < 4; ++h) {
          const uint64x2_t wv = vld1q_u64(wg + static_cast<std::size_t>(j) * 8 + 2 * h);
          acc16[h] = bconv::popcnt_xor_acc(acc16[h], wv, av);
        }
        if (++pending == bconv::kNeonStepsPerFold) {
          for (int h = 0; h < 4; ++h) {
            acc64[h] = bconv::fold16(acc64[h], acc16[h]);
            acc16[h] = vdupq_n_u16(0);
          }
          pending = 0;
        }
      }
      uint64_t pop[8];
      for (int h = 0; h < 4; ++h) vst1q_u64(pop + 2 * h, bconv::fold16(acc64[h], acc16[h]));
      const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
      int32_t* o = out + static_cast<std::size_t>(t) * w.c_out + 8 * g;
      for (int l = 0; l < n; ++l) o[l] = w.c_in - 2 * static_cast<int32_t>(pop[l]);
    }
  }
}

}  // namespace scales::blinear
