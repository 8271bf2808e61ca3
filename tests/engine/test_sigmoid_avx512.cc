// test_sigmoid.cc's window into the AVX-512 sigmoid; built with -mavx512f -ffp-contract=off like
// the epilogue that uses it, and called only on a CPU that has AVX-512F.
#include <immintrin.h>

#include "bconv/sigmoid_avx512.h"

namespace scales::bconv {

void sigmoid16_for_test(const float* v, float* out, int n) {
  for (int i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, sigmoid16(_mm512_loadu_ps(v + i)));
}

}  // namespace scales::bconv
