// test_sigmoid.cc's window into the AVX2 sigmoid; built with -mavx2 -ffp-contract=off like the
// epilogue that uses it, and called only on a CPU that has AVX2.
#include <immintrin.h>

#include "bconv/sigmoid_avx2.h"

namespace scales::bconv {

void sigmoid8_for_test(const float* v, float* out, int n) {
  for (int i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, sigmoid8(_mm256_loadu_ps(v + i)));
}

}  // namespace scales::bconv
