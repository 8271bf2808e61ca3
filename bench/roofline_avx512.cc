// Compiled with -mavx512f -mavx512vpopcntdq.
#include <immintrin.h>

#include "roofline.h"

namespace scales::bench {

uint64_t xor_popcount_avx512(const uint64_t* a, const uint64_t* b, int words, long reps) {
  __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
  for (long r = 0; r < reps; ++r)
    for (int i = 0; i < words; i += 32)
      for (int j = 0; j < 4; ++j) {
        const __m512i x = _mm512_xor_si512(_mm512_loadu_si512(a + i + 8 * j), _mm512_loadu_si512(b + i + 8 * j));
        acc[j] = _mm512_add_epi64(acc[j], _mm512_popcnt_epi64(x));
      }
  const __m512i t = _mm512_add_epi64(_mm512_add_epi64(acc[0], acc[1]), _mm512_add_epi64(acc[2], acc[3]));
  return static_cast<uint64_t>(_mm512_reduce_add_epi64(t));
}

}  // namespace scales::bench
