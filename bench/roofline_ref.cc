#include <bit>

#include "roofline.h"

namespace scales::bench {

uint64_t xor_popcount_ref(const uint64_t* a, const uint64_t* b, int words, long reps) {
  uint64_t s = 0;
  for (long r = 0; r < reps; ++r)
    for (int i = 0; i < words; ++i) s += std::popcount(a[i] ^ b[i % 32]);
  return s;
}

XorPopcountFn xor_popcount_for(std::string_view isa) {
  if (isa == "ref") return xor_popcount_ref;
#if defined(__x86_64__)
  if (isa == "avx2") return xor_popcount_avx2;
  if (isa == "avx512") return xor_popcount_avx512;
#endif
#if defined(__aarch64__)
  if (isa == "neon") return xor_popcount_neon;
#endif
  return nullptr;
}

}  // namespace scales::bench
