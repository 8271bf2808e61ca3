// blinear/epilogue.h's residual epilogues, 8 channels a register, the last one masked.
#include <immintrin.h>

#include <cstddef>

#include "blinear/epilogue.h"

namespace scales::blinear {

namespace {

// Lanes [0, min(left, 8)) set, as a load/store mask.
inline __m256i live(int left) {
  const int n = left < 8 ? left : 8;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// g = (gk[o] * s) * cfac[o], as the generic form rounds it.
template <bool S, bool C>
inline __m256 factor(__m256i m, const float* gk, const float* cfac, int o, __m256 s) {
  __m256 g = _mm256_maskload_ps(gk + o, m);
  if constexpr (S) g = _mm256_mul_ps(g, s);
  if constexpr (C) g = _mm256_mul_ps(g, _mm256_maskload_ps(cfac + o, m));
  return g;
}

inline __m256 ybin_f(__m256i m, const int32_t* yp, int o) {
  return _mm256_cvtepi32_ps(_mm256_maskload_epi32(yp + o, m));
}

template <bool S, bool C>
void repeat(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
            const float* x, int in, float* z) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const __m256 s = S ? _mm256_set1_ps(s_row[p]) : _mm256_setzero_ps();
    for (int r = 0; r < channels; r += in)  // r .. r + in - 1: one copy of x
      for (int i = 0; i < in; i += 8) {
        const __m256i m = live(in - i);
        const int o = r + i;
        const __m256 g = factor<S, C>(m, gk, cfac, o, s);
        _mm256_maskstore_ps(zp + o, m,
                            _mm256_add_ps(_mm256_maskload_ps(xp + i, m), _mm256_mul_ps(ybin_f(m, yp, o), g)));
      }
  }
}

template <bool S, bool C>
void mean(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
          const float* x, int in, float* z) {
  const int k = in / channels;
  const __m256 kf = _mm256_set1_ps(static_cast<float>(k));
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const __m256 s = S ? _mm256_set1_ps(s_row[p]) : _mm256_setzero_ps();
    for (int o = 0; o < channels; o += 8) {
      const __m256i m = live(channels - o);
      __m256 acc = _mm256_setzero_ps();  // 0 + x = x: the generic form's start, bit for bit
      for (int j = 0; j < k; ++j)
        acc = _mm256_add_ps(acc, _mm256_maskload_ps(xp + static_cast<size_t>(j) * channels + o, m));
      const __m256 g = factor<S, C>(m, gk, cfac, o, s);
      _mm256_maskstore_ps(zp + o, m, _mm256_add_ps(_mm256_div_ps(acc, kf), _mm256_mul_ps(ybin_f(m, yp, o), g)));
    }
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
