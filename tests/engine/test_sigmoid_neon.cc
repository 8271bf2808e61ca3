// test_sigmoid.cc's window into the NEON sigmoid; built with -ffp-contract=off like the epilogue
// that uses it (NEON is baseline on aarch64).
#include <arm_neon.h>

#include "bconv/sigmoid_neon.h"

namespace scales::bconv {

void sigmoid4_for_test(const float* v, float* out, int n) {
  for (int i = 0; i + 4 <= n; i += 4) vst1q_f32(out + i, sigmoid4(vld1q_f32(v + i)));
}

}  // namespace scales::bconv
