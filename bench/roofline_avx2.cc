// Compiled with -mavx2.
#include <immintrin.h>

#include "roofline.h"

namespace scales::bench {

// The AVX2 conv kernel's mix (bgemm_avx2.cc, Harley-Seal form): words XORed two at a time with
// the operand held in registers, passed through a carry-save adder, and only the carries and,
// once per chunk, the running sum counted by nibble lookup.
uint64_t xor_popcount_avx2(const uint64_t* a, const uint64_t* b, int words, long reps) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
  auto count = [&](__m256i v) {
    const __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
  };
  __m256i acc64 = zero;
  __m256i w[8];  // one operand in registers, one streamed from L1, as in the kernel
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) w[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 4 * j));
  for (long r = 0; r < reps; ++r)
    for (int i = 0; i < words; i += 32) {  // 8 ymm per chunk: 4 pairs, at most 2 * 4 * 8 + 8 per byte
      __m256i acc8 = zero, ones = zero;
#pragma GCC unroll 4
      for (int j = 0; j < 8; j += 2) {
        const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + 4 * j)), w[j]);
        const __m256i v =
            _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + 4 * j + 4)), w[j + 1]);
        const __m256i t = _mm256_xor_si256(ones, u);
        const __m256i twos = _mm256_or_si256(_mm256_and_si256(ones, u), _mm256_and_si256(t, v));
        ones = _mm256_xor_si256(t, v);
        acc8 = _mm256_add_epi8(acc8, count(twos));  // carries summed as they are, doubled once below
      }
      acc64 = _mm256_add_epi64(acc64, _mm256_sad_epu8(_mm256_add_epi8(_mm256_add_epi8(acc8, acc8), count(ones)), zero));
    }
  alignas(32) uint64_t s[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(s), acc64);
  return s[0] + s[1] + s[2] + s[3];
}

}  // namespace scales::bench
