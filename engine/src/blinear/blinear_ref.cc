// The reference binary linear: the contract of kernel.h written out, one dot product at a
// time, reading the model file's weight layout, without the GEMM core: the tests' oracle.
#include <bit>
#include <cstddef>

#include "blinear/kernel.h"

namespace scales::blinear {

void blinear_ref(const uint64_t* a, int tokens, const BlinearWeights& w, int32_t* out) {
  for (int t = 0; t < tokens; ++t) {
    const uint64_t* at = a + static_cast<std::size_t>(t) * w.words;
    for (int o = 0; o < w.c_out; ++o) {
      const uint64_t* wo = w.bits.data() + static_cast<std::size_t>(o) * w.words;
      int32_t pop = 0;
      for (int k = 0; k < w.words; ++k) pop += std::popcount(at[k] ^ wo[k]);
      out[static_cast<std::size_t>(t) * w.c_out + o] = w.c_in - 2 * pop;
    }
  }
}

}  // namespace scales::blinear
