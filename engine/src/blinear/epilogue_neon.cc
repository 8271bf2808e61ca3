// blinear/epilogue.h's residual epilogues on aarch64 NEON (-ffp-contract=off): epilogue_rows.h's
// loops, 4 channels a register, the last 1-3 through partial loads and stores
// (kernels/neon_partial.h).
#include <arm_neon.h>

#include "blinear/epilogue_rows.h"
#include "kernels/neon_partial.h"

namespace scales::blinear {

namespace {

struct Neon {
  static constexpr int kWidth = 4;
  static float32x4_t zero() { return vdupq_n_f32(0.0f); }
  static float32x4_t set1(float f) { return vdupq_n_f32(f); }
  static float32x4_t load(const float* p, int k) { return kernels::load_first(p, k); }
  // SCVTF rounds to nearest, as static_cast<float> does.
  static float32x4_t load_int(const int32_t* p, int k) { return vcvtq_f32_s32(kernels::load_first(p, k)); }
  static void store(float* p, float32x4_t v, int k) { kernels::store_first(p, v, k); }
  static float32x4_t add(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); }
  static float32x4_t mul(float32x4_t a, float32x4_t b) { return vmulq_f32(a, b); }
  static float32x4_t div(float32x4_t a, float32x4_t b) { return vdivq_f32(a, b); }
};

}  // namespace

void epilogue_repeat_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z) {
  rows::repeat_any<Neon>(gk, s_row, cfac, ybin, width, channels, x, in, z);
}

void epilogue_mean_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                        int channels, const float* x, int in, float* z) {
  rows::mean_any<Neon>(gk, s_row, cfac, ybin, width, channels, x, in, z);
}

void epilogue_plain_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                         int channels, float* z) {
  rows::plain_any<Neon>(gk, s_row, cfac, ybin, width, channels, z);
}

}  // namespace scales::blinear
