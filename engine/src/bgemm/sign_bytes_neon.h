// NEON's stand-in for x86's movemask (aarch64 only): sign bytes from float compares, and the
// packed bits of 8, 16 or 64 channels. Shared by the sign packing (pack_signs_neon.cc) and the
// fused epilogue (bconv/epilogue_neon.cc), which must pack alike.
#pragma once

#include <arm_neon.h>

#include <cstdint>

namespace scales::bgemm {

// 0xFF for each lane of u[0..3] (16 channels in order) that is < 0, else 0. An ordered compare:
// -0 and NaN give 0 (sign +1), as pack_signs_ref.
inline uint8x16_t sign_bytes16(const float32x4_t* u) {
  const float32x4_t zero = vdupq_n_f32(0.0f);
  const uint16x8_t lo =
      vuzp1q_u16(vreinterpretq_u16_u32(vcltq_f32(u[0], zero)), vreinterpretq_u16_u32(vcltq_f32(u[1], zero)));
  const uint16x8_t hi =
      vuzp1q_u16(vreinterpretq_u16_u32(vcltq_f32(u[2], zero)), vreinterpretq_u16_u32(vcltq_f32(u[3], zero)));
  return vuzp1q_u8(vreinterpretq_u8_u16(lo), vreinterpretq_u8_u16(hi));
}

// Each byte 0xFF or 0 -> that byte's bit weight 1 << (lane % 8).
inline uint8x16_t weighted(uint8x16_t m) {
  const uint8x16_t w = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  return vandq_u8(m, w);
}

// The byte of sign bits of 8 channels, u0 (channels 0-3) and u1 (4-7): the fused epilogue's
// one group of 8.
inline uint8_t sign_byte8(float32x4_t u0, float32x4_t u1) {
  const float32x4_t zero = vdupq_n_f32(0.0f);
  const uint16x8_t m16 =
      vuzp1q_u16(vreinterpretq_u16_u32(vcltq_f32(u0, zero)), vreinterpretq_u16_u32(vcltq_f32(u1, zero)));
  const uint8x8_t w = {1, 2, 4, 8, 16, 32, 64, 128};
  return vaddv_u8(vand_u8(vmovn_u16(m16), w));  // distinct bits: the sum is their OR
}

// The 16 bits of one sign_bytes16 result, lane 0 lowest.
inline uint16_t mask16(uint8x16_t m) {
  const uint8x16_t a = weighted(m);
  const uint8x8_t b = vpadd_u8(vget_low_u8(a), vget_high_u8(a));  // 4 lanes each
  const uint8x8_t c = vpadd_u8(b, b);                             // 2 each
  const uint8x8_t d = vpadd_u8(c, c);                             // 8 each: bytes 0, 1
  return vget_lane_u16(vreinterpret_u16_u8(d), 0);
}

// The 64-bit word of four sign_bytes16 results (channels 0-15, ..., 48-63): pairwise adds fold
// 2, then 4, then 8 neighbouring bytes, leaving byte k = channels 8k .. 8k + 7.
inline uint64_t word_from_sign_bytes(const uint8x16_t* m) {
  const uint8x16_t s0 = vpaddq_u8(weighted(m[0]), weighted(m[1]));  // byte k: channels 2k, 2k + 1
  const uint8x16_t s1 = vpaddq_u8(weighted(m[2]), weighted(m[3]));
  const uint8x16_t t = vpaddq_u8(s0, s1);  // byte k: channels 4k .. 4k + 3
  const uint8x16_t u = vpaddq_u8(t, t);    // byte k < 8: channels 8k .. 8k + 7
  return vgetq_lane_u64(vreinterpretq_u64_u8(u), 0);
}

}  // namespace scales::bgemm
