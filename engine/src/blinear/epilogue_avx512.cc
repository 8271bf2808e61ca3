// blinear/epilogue.h's residual epilogues on AVX-512 (-mavx512f -ffp-contract=off):
// epilogue_rows.h's loops, 16 channels a register, a tail under a mask.
#include <immintrin.h>

#include "blinear/epilogue_rows.h"

namespace scales::blinear {

namespace {

struct Avx512 {
  static constexpr int kWidth = 16;
  static __mmask16 live(int k) {
    return k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << k) - 1);
  }
  static __m512 zero() { return _mm512_setzero_ps(); }
  static __m512 set1(float f) { return _mm512_set1_ps(f); }
  static __m512 load(const float* p, int k) { return _mm512_maskz_loadu_ps(live(k), p); }
  static __m512 load_int(const int32_t* p, int k) { return _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(live(k), p)); }
  static void store(float* p, __m512 v, int k) { _mm512_mask_storeu_ps(p, live(k), v); }
  static __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
  static __m512 mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
  static __m512 div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
};

}  // namespace

void epilogue_repeat_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                            int channels, const float* x, int in, float* z) {
  rows::repeat_any<Avx512>(gk, s_row, cfac, ybin, width, channels, x, in, z);
}

void epilogue_mean_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z) {
  rows::mean_any<Avx512>(gk, s_row, cfac, ybin, width, channels, x, in, z);
}

void epilogue_plain_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                           int channels, float* z) {
  rows::plain_any<Avx512>(gk, s_row, cfac, ybin, width, channels, z);
}

}  // namespace scales::blinear
