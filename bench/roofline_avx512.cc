// Compiled with -mavx512f -mavx512vpopcntdq.
#include <immintrin.h>

#include "roofline.h"

namespace scales::bench {

uint64_t xor_popcount_avx512(const uint64_t* a, const uint64_t* b, int words, long reps) {
  // One operand in registers, one streamed from L1: the kernel's own mix (a weight vector
  // against broadcast activations), without its address arithmetic. Four named accumulators so
  // the compiler keeps them in registers (an array of them went through the stack).
  const __m512i w0 = _mm512_loadu_si512(b), w1 = _mm512_loadu_si512(b + 8), w2 = _mm512_loadu_si512(b + 16),
                w3 = _mm512_loadu_si512(b + 24);
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
  for (long r = 0; r < reps; ++r)
    for (int i = 0; i < words; i += 32) {
      c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i), w0)));
      c1 = _mm512_add_epi64(c1, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i + 8), w1)));
      c2 = _mm512_add_epi64(c2, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i + 16), w2)));
      c3 = _mm512_add_epi64(c3, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + i + 24), w3)));
    }
  return static_cast<uint64_t>(
      _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(c0, c1), _mm512_add_epi64(c2, c3))));
}

}  // namespace scales::bench
