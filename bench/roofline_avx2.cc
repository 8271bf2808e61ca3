// Compiled with -mavx2.
#include <immintrin.h>

#include "roofline.h"

namespace scales::bench {

uint64_t xor_popcount_avx2(const uint64_t* a, const uint64_t* b, int words, long reps) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  __m256i acc64 = zero;
  __m256i w[8];  // one operand in registers, one streamed from L1, as in the kernel
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) w[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 4 * j));
  for (long r = 0; r < reps; ++r)
    for (int i = 0; i < words; i += 32) {  // 8 ymm per chunk: at most 8 per byte lane, flushed each chunk
      __m256i acc8[2] = {zero, zero};
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + 4 * j)), w[j]);
        const __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        acc8[j & 1] =
            _mm256_add_epi8(acc8[j & 1], _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi)));
      }
      acc64 = _mm256_add_epi64(acc64, _mm256_sad_epu8(_mm256_add_epi8(acc8[0], acc8[1]), zero));
    }
  alignas(32) uint64_t s[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(s), acc64);
  return s[0] + s[1] + s[2] + s[3];
}

}  // namespace scales::bench
