// blinear/epilogue.h's residual epilogues on aarch64 NEON (-ffp-contract=off), 4 channels a
// register, the last 1-3 through partial loads and stores: the generic forms' operations in their
// order, so equal to them bit for bit.
#include <arm_neon.h>

#include <cstddef>

#include "blinear/epilogue.h"
#include "kernels/neon_partial.h"

namespace scales::blinear {

namespace {

using kernels::load_first;
using kernels::quads;
using kernels::store_first;

// g = (gk[o] * s) * cfac[o], as the generic form rounds it.
template <bool S, bool C>
inline float32x4_t factor(int k, const float* gk, const float* cfac, int o, float32x4_t s) {
  float32x4_t g = load_first(gk + o, k);
  if constexpr (S) g = vmulq_f32(g, s);
  if constexpr (C) g = vmulq_f32(g, load_first(cfac + o, k));
  return g;
}

// int32 to float rounds to nearest, as static_cast<float> does.
inline float32x4_t ybin_f(int k, const int32_t* yp, int o) { return vcvtq_f32_s32(load_first(yp + o, k)); }

template <bool S, bool C>
void repeat(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
            const float* x, int in, float* z) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const float32x4_t s = vdupq_n_f32(S ? s_row[p] : 0.0f);
    for (int r = 0; r < channels; r += in)  // r .. r + in - 1: one copy of x
      quads(in, [&](int i, int k) {
        const int o = r + i;
        const float32x4_t g = factor<S, C>(k, gk, cfac, o, s);
        store_first(zp + o, vaddq_f32(load_first(xp + i, k), vmulq_f32(ybin_f(k, yp, o), g)), k);
      });
  }
}

template <bool S, bool C>
void mean(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
          const float* x, int in, float* z) {
  const int n = in / channels;
  const float32x4_t nf = vdupq_n_f32(static_cast<float>(n));
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const float32x4_t s = vdupq_n_f32(S ? s_row[p] : 0.0f);
    quads(channels, [&](int o, int k) {
      float32x4_t acc = vdupq_n_f32(0.0f);  // 0 + x = x: the generic form's start, bit for bit
      for (int j = 0; j < n; ++j) acc = vaddq_f32(acc, load_first(xp + static_cast<size_t>(j) * channels + o, k));
      const float32x4_t g = factor<S, C>(k, gk, cfac, o, s);
      store_first(zp + o, vaddq_f32(vdivq_f32(acc, nf), vmulq_f32(ybin_f(k, yp, o), g)), k);
    });
  }
}

}  // namespace

void epilogue_repeat_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto s, auto c) {
    repeat<decltype(s)::value, decltype(c)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

void epilogue_mean_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                        int channels, const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto s, auto c) {
    mean<decltype(s)::value, decltype(c)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

}  // namespace scales::blinear
