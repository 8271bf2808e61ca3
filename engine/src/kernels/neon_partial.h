// Loads and stores of the first k (1..4) floats of a NEON register, for the tails of rows whose
// length is not a multiple of 4 (aarch64 only; the fused epilogue and window attention use them).
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstring>

namespace scales::kernels {

// The first k floats at p, zeros after: no read past them.
inline float32x4_t load_first(const float* p, int k) {
  if (k == 4) return vld1q_f32(p);
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  std::memcpy(t, p, sizeof(float) * static_cast<std::size_t>(k));
  return vld1q_f32(t);
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
