// Loads and stores of the first k (1..4) lanes of a NEON register, for the tails of rows whose
// length is not a multiple of 4, and the mask of those lanes (aarch64 only; the fused epilogues,
// the window attention and LayerNorm use them).
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace scales::kernels {

// The first k floats at p, zeros after: no read past them.
inline float32x4_t load_first(const float* p, int k) {
  if (k == 4) return vld1q_f32(p);
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  std::memcpy(t, p, sizeof(float) * static_cast<std::size_t>(k));
  return vld1q_f32(t);
}

// The same for int32 lanes.
inline int32x4_t load_first(const int32_t* p, int k) {
  if (k == 4) return vld1q_s32(p);
  int32_t t[4] = {0, 0, 0, 0};
  std::memcpy(t, p, sizeof(int32_t) * static_cast<std::size_t>(k));
  return vld1q_s32(t);
}

// Lanes [0, k) all ones, the rest zero (k in 0..4): an AND or select mask.
inline uint32x4_t lanes_below(int k) {
  static constexpr uint32_t kLane[4] = {0, 1, 2, 3};
  return vcltq_u32(vld1q_u32(kLane), vdupq_n_u32(static_cast<uint32_t>(k)));
}

// The first k lanes of v to p: no write past them.
inline void store_first(float* p, float32x4_t v, int k) {
  if (k == 4) {
    vst1q_f32(p, v);
    return;
  }
  float t[4];
  vst1q_f32(t, v);
  std::memcpy(p, t, sizeof(float) * static_cast<std::size_t>(k));
}

}  // namespace scales::kernels
