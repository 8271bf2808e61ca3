// blinear/epilogue.h's residual epilogues, 16 channels a register, the last one masked.
#include <immintrin.h>

#include <cstddef>

#include "blinear/epilogue.h"

namespace scales::blinear {

namespace {

inline __mmask16 live(int left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// g = (gk[o] * s) * cfac[o], as the generic form rounds it.
template <bool S, bool C>
inline __m512 factor(__mmask16 m, const float* gk, const float* cfac, int o, __m512 s) {
  __m512 g = _mm512_maskz_loadu_ps(m, gk + o);
  if constexpr (S) g = _mm512_mul_ps(g, s);
  if constexpr (C) g = _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m, cfac + o));
  return g;
}

inline __m512 ybin_f(__mmask16 m, const int32_t* yp, int o) {
  return _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, yp + o));
}

template <bool S, bool C>
void repeat(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
            const float* x, int in, float* z) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const __m512 s = S ? _mm512_set1_ps(s_row[p]) : _mm512_setzero_ps();
    for (int r = 0; r < channels; r += in)  // r .. r + in - 1: one copy of x
      for (int i = 0; i < in; i += 16) {
        const __mmask16 m = live(in - i);
        const int o = r + i;
        const __m512 g = factor<S, C>(m, gk, cfac, o, s);
        _mm512_mask_storeu_ps(zp + o, m,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(m, xp + i), _mm512_mul_ps(ybin_f(m, yp, o), g)));
      }
  }
}

template <bool S, bool C>
void mean(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width, int channels,
          const float* x, int in, float* z) {
  const int k = in / channels;
  const __m512 kf = _mm512_set1_ps(static_cast<float>(k));
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const __m512 s = S ? _mm512_set1_ps(s_row[p]) : _mm512_setzero_ps();
    for (int o = 0; o < channels; o += 16) {
      const __mmask16 m = live(channels - o);
      __m512 acc = _mm512_setzero_ps();  // 0 + x = x: the generic form's start, bit for bit
      for (int j = 0; j < k; ++j)
        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, xp + static_cast<size_t>(j) * channels + o));
      const __m512 g = factor<S, C>(m, gk, cfac, o, s);
      _mm512_mask_storeu_ps(zp + o, m, _mm512_add_ps(_mm512_div_ps(acc, kf), _mm512_mul_ps(ybin_f(m, yp, o), g)));
    }
  }
}

}  // namespace

void epilogue_repeat_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                            int channels, const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto s, auto c) {
    repeat<decltype(s)::value, decltype(c)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

void epilogue_mean_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z) {
  with_parts(s_row, cfac, [&](auto s, auto c) {
    mean<decltype(s)::value, decltype(c)::value>(gk, s_row, cfac, ybin, width, channels, x, in, z);
  });
}

}  // namespace scales::blinear
