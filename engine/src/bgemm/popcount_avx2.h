// Byte-wise popcount for AVX2 (which has no vector popcount): the 4-bit lookup table in VPSHUFB
// applied to the low and the high nibble. Included only by translation units compiled with -mavx2.
#pragma once

#include <immintrin.h>

namespace scales::bgemm {

inline __m256i popcnt_bytes(__m256i v, __m256i lut, __m256i low4) {
  const __m256i lo = _mm256_and_si256(v, low4);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

// The table for popcnt_bytes: popcount of each nibble value, in both 128-bit halves.
inline __m256i nibble_popcount_lut() {
  return _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                          0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
}

}  // namespace scales::bgemm
