// The binary linear's epilogues (blinear/epilogue.h: with a residual read in place, or none), written once for the
// kernel variants' vector forms: epilogue_avx2.cc, epilogue_avx512.cc and epilogue_neon.cc each supply V, a struct of
// static functions on their register type, and instantiate these. V has:
//   kWidth                     floats per register
//   zero(), set1(f)
//   load(const float* p, k)    the first k (1..kWidth) floats at p, zeros after, no read past them
//   load_int(const int32_t*, k) the same for int32 lanes, converted to float (to nearest, as
//                              static_cast<float>)
//   store(float* p, v, k)      the first k lanes of v, no write past them
//   add(a, b), mul(a, b), div(a, b)
// Every value is formed by the same IEEE operations in the same order as the generic forms
// (bconv/epilogue.cc's epilogue_row_repeat and epilogue_row_mean), each rounded (no FMA: the
// including files are built with -ffp-contract=off), so each instance equals them bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "blinear/epilogue.h"
#include "kernels/steps.h"

namespace scales::blinear::rows {

// g = (gk[o] * s) * cfac[o], as the generic form rounds it.
template <class V, bool S, bool C>
inline auto factor(int k, const float* gk, const float* cfac, int o, decltype(V::zero()) s) {
  auto g = V::load(gk + o, k);
  if constexpr (S) g = V::mul(g, s);
  if constexpr (C) g = V::mul(g, V::load(cfac + o, k));
  return g;
}

// z = x (repeated channels / in times) + ybin * g.
template <class V, bool S, bool C>
void repeat(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
            const float* x, int in, float* z) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const auto s = S ? V::set1(s_row[p]) : V::zero();
    for (int r = 0; r < channels; r += in)  // r .. r + in - 1: one copy of x
      kernels::steps<V::kWidth>(in, [&](int i, int k) {
        const int o = r + i;
        const auto g = factor<V, S, C>(k, gk, cfac, o, s);
        V::store(zp + o, V::add(V::load(xp + i, k), V::mul(V::load_int(yp + o, k), g)), k);
      });
  }
}

// z = the mean of x's in / channels chunks + ybin * g.
template <class V, bool S, bool C>
void mean(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
          const float* x, int in, float* z) {
  const int n = in / channels;
  const auto nf = V::set1(static_cast<float>(n));
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const auto s = S ? V::set1(s_row[p]) : V::zero();
    kernels::steps<V::kWidth>(channels, [&](int o, int k) {
      auto acc = V::zero();  // 0 + x = x: the generic form's start, bit for bit
      for (int j = 0; j < n; ++j) acc = V::add(acc, V::load(xp + static_cast<size_t>(j) * channels + o, k));
      const auto g = factor<V, S, C>(k, gk, cfac, o, s);
      V::store(zp + o, V::add(V::div(acc, nf), V::mul(V::load_int(yp + o, k), g)), k);
    });
  }
}

// z = 0 + ybin * g: no residual (the add keeps the generic form's +0 where the product is -0).
template <class V, bool S, bool C>
void plain(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
           float* z) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    float* zp = z + static_cast<size_t>(p) * channels;
    const auto s = S ? V::set1(s_row[p]) : V::zero();
    kernels::steps<V::kWidth>(channels, [&](int o, int k) {
      const auto g = factor<V, S, C>(k, gk, cfac, o, s);
      V::store(zp + o, V::add(V::zero(), V::mul(V::load_int(yp + o, k), g)), k);
    });
  }
}

// The entry points' bodies: the instance for the parts present (with_parts).
template <class V>
void repeat_any(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
                const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto sp, auto cp) {
    repeat<V, decltype(sp)::value, decltype(cp)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

template <class V>
void mean_any(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
              const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto sp, auto cp) {
    mean<V, decltype(sp)::value, decltype(cp)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

template <class V>
void plain_any(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
               float* z) {
  with_parts(s_row, cfac, [&](auto sp, auto cp) {
    plain<V, decltype(sp)::value, decltype(cp)::value>(gk, s_row, cfac, ybin, width, channels, z);
  });
}

}  // namespace scales::blinear::rows
