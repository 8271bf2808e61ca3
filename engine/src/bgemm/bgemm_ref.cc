// The reference binary GEMM: the contract of bgemm.h written out one dot product at a time,
// reading the model file's `bits` layout. It is the "ref" kernel variant (forced with
// SCALES_KERNEL=ref) and the oracle every other variant is tested against.
#include <bit>
#include <cstddef>

#include "bgemm/bgemm.h"

namespace scales::bgemm {

void bgemm_ref(const Rows& a, const Weights& w, int32_t* out) {
  for (int r = 0; r < a.count; ++r)
    for (int o = 0; o < w.c_out; ++o) {
      const uint64_t* wo = w.bits.data() + static_cast<std::size_t>(o) * w.k_words;
      int32_t pop = 0;
      for (int s = 0; s < a.runs; ++s) {
        const uint64_t* ar = a.run[s] + static_cast<std::ptrdiff_t>(r) * a.stride;
        const uint64_t* ws = wo + static_cast<std::size_t>(s) * a.run_words;
        for (int j = 0; j < a.run_words; ++j) pop += std::popcount(ar[j] ^ ws[j]);
      }
      out[static_cast<std::size_t>(r) * w.c_out + o] = w.k_bits - 2 * pop;
    }
}

}  // namespace scales::bgemm
