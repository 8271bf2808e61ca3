// blinear/epilogue.h's residual epilogues on AVX2 (-mavx2 -ffp-contract=off): epilogue_rows.h's
// loops, 8 channels a register, a tail through partial loads and a piecewise store
// (kernels/avx2_partial.h).
#include <immintrin.h>

#include "blinear/epilogue_rows.h"
#include "kernels/avx2_partial.h"

namespace scales::blinear {

namespace {

struct Avx2 {
  static constexpr int kWidth = 8;
  static __m256 zero() { return _mm256_setzero_ps(); }
  static __m256 set1(float f) { return _mm256_set1_ps(f); }
  static __m256 load(const float* p, int k) { return kernels::load_first(p, k); }
  static __m256 load_int(const int32_t* p, int k) { return _mm256_cvtepi32_ps(kernels::load_first(p, k)); }
  static void store(float* p, __m256 v, int k) { kernels::store_first(p, v, k); }
  static __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
  static __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
  static __m256 div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
};

}  // namespace

void epilogue_repeat_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z) {
  rows::repeat_any<Avx2>(gk, s_row, cfac, ybin, width, channels, x, in, z);
}

void epilogue_mean_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                        int channels, const float* x, int in, float* z) {
  rows::mean_any<Avx2>(gk, s_row, cfac, ybin, width, channels, x, in, z);
}

void epilogue_plain_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                         int channels, float* z) {
  rows::plain_any<Avx2>(gk, s_row, cfac, ybin, width, channels, z);
}

}  // namespace scales::blinear
