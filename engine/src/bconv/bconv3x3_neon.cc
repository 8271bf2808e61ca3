// Binary 3x3 conv, aarch64 NEON (Advanced SIMD is baseline on aarch64, no extra flags).
//
// Data layout as in the AVX-512 kernel (bconv3x3_avx512.cc): 8 output channels per group, here
// four uint64x2 vectors; the activation word is broadcast. VCNT counts bits per byte; VPADAL
// adds byte pairs into 16-bit lanes (each step adds at most 16 per lane, so 4095 steps fit
// before the fold into 64-bit lanes).
#include <arm_neon.h>

#include "bconv/kernel.h"
#include "bconv/popcount_neon.h"

namespace scales::bconv {

namespace {

inline void pixel_neon(const PackedMap& a, const BconvWeights& w, int y, int x, int32_t* out) {
  const int words = a.words, row_words = 3 * words, kw = w.k_words();
  const uint64_t* rows[3] = {a.at(y - 1, x - 1), a.at(y, x - 1), a.at(y + 1, x - 1)};
  for (int g = 0; g < w.groups(); ++g) {
    const uint64_t* wg = w.lane8.data() + static_cast<size_t>(g) * kw * 8;
    uint64x2_t acc64[4];
    uint16x8_t acc16[4];
    for (int h = 0; h < 4; ++h) {
      acc64[h] = vdupq_n_u64(0);
      acc16[h] = vdupq_n_u16(0);
    }
    int pending = 0;
    for (int kh = 0; kh < 3; ++kh) {
      const uint64_t* r = rows[kh];
      const uint64_t* wk = wg + static_cast<size_t>(kh) * row_words * 8;
      for (int j = 0; j < row_words; ++j) {
        const uint64x2_t av = vdupq_n_u64(r[j]);
#pragma GCC unroll 4
        for (int h = 0; h < 4; ++h) {
          const uint64x2_t wv = vld1q_u64(wk + static_cast<size_t>(j) * 8 + 2 * h);
          acc16[h] = bconv::popcnt_xor_acc(acc16[h], wv, av);
        }
        if (++pending == bconv::kNeonStepsPerFold) {
          for (int h = 0; h < 4; ++h) {
            acc64[h] = bconv::fold16(acc64[h], acc16[h]);
            acc16[h] = vdupq_n_u16(0);
          }
          pending = 0;
        }
      }
    }
    uint64_t pop[8];
    for (int h = 0; h < 4; ++h) vst1q_u64(pop + 2 * h, bconv::fold16(acc64[h], acc16[h]));
    const int n = w.c_out - 8 * g < 8 ? w.c_out - 8 * g : 8;
    int32_t* o = out + 8 * g;
    for (int l = 0; l < n; ++l) o[l] = w.k_bits() - 2 * static_cast<int32_t>(pop[l]);
  }
}

}  // namespace

void bconv3x3_row_neon(const PackedMap& a, const BconvWeights& w, int y, int32_t* out) {
  for (int x = 0; x < a.width; ++x) pixel_neon(a, w, y, x, out + static_cast<size_t>(x) * w.c_out);
}

}  // namespace scales::bconv
