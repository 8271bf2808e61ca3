// blinear/epilogue.h's residual epilogues, 8 channels a register, the last 1-7 through partial loads
// and a piecewise store (kernels/avx2_partial.h).
#include <immintrin.h>

#include <cstddef>

#include "blinear/epilogue.h"
#include "kernels/avx2_partial.h"

namespace scales::blinear {

namespace {

using kernels::load_first;
using kernels::octets;
using kernels::store_first;

// g = (gk[o] * s) * cfac[o], as the generic form rounds it.
template <bool S, bool C>
inline __m256 factor(int k, const float* gk, const float* cfac, int o, __m256 s) {
  __m256 g = load_first(gk + o, k);
  if constexpr (S) g = _mm256_mul_ps(g, s);
  if constexpr (C) g = _mm256_mul_ps(g, load_first(cfac + o, k));
  return g;
}

inline __m256 ybin_f(int k, const int32_t* yp, int o) { return _mm256_cvtepi32_ps(load_first(yp + o, k)); }

template <bool S, bool C>
void repeat(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
            const float* x, int in, float* z) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const __m256 s = S ? _mm256_set1_ps(s_row[p]) : _mm256_setzero_ps();
    for (int r = 0; r < channels; r += in)  // r .. r + in - 1: one copy of x
      octets(in, [&](int i, int k) {
        const int o = r + i;
        const __m256 g = factor<S, C>(k, gk, cfac, o, s);
        store_first(zp + o, _mm256_add_ps(load_first(xp + i, k), _mm256_mul_ps(ybin_f(k, yp, o), g)), k);
      });
  }
}

template <bool S, bool C>
void mean(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
          const float* x, int in, float* z) {
  const int n = in / channels;
  const __m256 nf = _mm256_set1_ps(static_cast<float>(n));
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const __m256 s = S ? _mm256_set1_ps(s_row[p]) : _mm256_setzero_ps();
    octets(channels, [&](int o, int k) {
      __m256 acc = _mm256_setzero_ps();  // 0 + x = x: the generic form's start, bit for bit
      for (int j = 0; j < n; ++j) acc = _mm256_add_ps(acc, load_first(xp + static_cast<size_t>(j) * channels + o, k));
      const __m256 g = factor<S, C>(k, gk, cfac, o, s);
      store_first(zp + o, _mm256_add_ps(_mm256_div_ps(acc, nf), _mm256_mul_ps(ybin_f(k, yp, o), g)), k);
    });
  }
}

}  // namespace

void epilogue_repeat_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto s, auto c) {
    repeat<decltype(s)::value, decltype(c)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

void epilogue_mean_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                        int channels, const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto s, auto c) {
    mean<decltype(s)::value, decltype(c)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

}  // namespace scales::blinear
