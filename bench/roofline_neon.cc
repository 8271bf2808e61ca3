#include <arm_neon.h>

#include "roofline.h"

namespace scales::bench {

uint64_t xor_popcount_neon(const uint64_t* a, const uint64_t* b, int words, long reps) {
  uint64x2_t acc64 = vdupq_n_u64(0);
  uint64x2_t w[16];  // one operand in registers, one streamed from L1, as in the kernel
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) w[j] = vld1q_u64(b + 2 * j);
  for (long r = 0; r < reps; ++r)
    for (int i = 0; i < words; i += 32) {
      uint16x8_t acc16[2] = {vdupq_n_u16(0), vdupq_n_u16(0)};
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) {
        const uint64x2_t v = veorq_u64(vld1q_u64(a + i + 2 * j), w[j]);
        acc16[j & 1] = vpadalq_u8(acc16[j & 1], vcntq_u8(vreinterpretq_u8_u64(v)));
      }
      acc64 = vaddq_u64(acc64, vpaddlq_u32(vpaddlq_u16(vaddq_u16(acc16[0], acc16[1]))));
    }
  return vgetq_lane_u64(acc64, 0) + vgetq_lane_u64(acc64, 1);
}

}  // namespace scales::bench
