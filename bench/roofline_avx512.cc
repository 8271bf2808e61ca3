// Compiled with -mavx512f -mavx512vpopcntdq.
#include <immintrin.h>

#include "roofline.h"

namespace scales::bench {

uint64_t xor_popcount_avx512(const uint64_t* a, const uint64_t* b, int words, long reps) {
  // The kernel's own mix (bgemm_avx512.cc, rows_avx512<8, 2>), without its address arithmetic:
  // two weight vectors loaded, each XORed with eight activation words broadcast from L1, into
  // 16 accumulators. A step is 16 popcounts of 512 bits: 128 words' worth of binary MACs, so a
  // call does 64 * words * reps of them, as roofline.h says. (This loop used to load one vector
  // per popcount; bound by loads, it ran below the kernel, which measured 1.04-1.05 of it.)
  __m512i acc[8][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_si512();
  for (long r = 0; r < reps; ++r)
    for (int i = 0; i < words; i += 128) {
      const uint64_t* w = a + i / 8;
      const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 8);
      const uint64_t* x = b + (i / 16) % 32;
#pragma GCC unroll 8
      for (int p = 0; p < 8; ++p) {
        const __m512i xv = _mm512_set1_epi64(static_cast<long long>(x[p]));
        acc[p][0] = _mm512_add_epi64(acc[p][0], _mm512_popcnt_epi64(_mm512_xor_si512(w0, xv)));
        acc[p][1] = _mm512_add_epi64(acc[p][1], _mm512_popcnt_epi64(_mm512_xor_si512(w1, xv)));
      }
    }
  __m512i s = _mm512_setzero_si512();
  for (auto& row : acc) s = _mm512_add_epi64(s, _mm512_add_epi64(row[0], row[1]));
  return static_cast<uint64_t>(_mm512_reduce_add_epi64(s));
}

}  // namespace scales::bench
