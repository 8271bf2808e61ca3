// Popcount accumulation for NEON, shared by the binary kernels (included only by aarch64 TUs):
// VCNT counts bits per byte, VPADAL adds byte pairs into 16-bit lanes (at most 16 per lane per
// step, so 4095 steps fit), and the 16-bit lanes are folded into the two 64-bit lanes.
#pragma once

#include <arm_neon.h>

namespace scales::bgemm {

constexpr int kNeonStepsPerFold = 4095;

inline uint16x8_t popcnt_xor_acc(uint16x8_t acc16, uint64x2_t w, uint64x2_t a) {
  return vpadalq_u8(acc16, vcntq_u8(vreinterpretq_u8_u64(veorq_u64(w, a))));
}

inline uint64x2_t fold16(uint64x2_t acc64, uint16x8_t acc16) {
  return vaddq_u64(acc64, vpaddlq_u32(vpaddlq_u16(acc16)));
}

}  // namespace scales::bgemm
