#include "bgemm/weights.h"

#include <cstddef>
#include <utility>

namespace scales::bgemm {

Weights make_weights(std::vector<uint64_t> bits, int c_out, int k_words, int32_t k_bits) {
  Weights w;
  w.c_out = c_out;
  w.k_words = k_words;
  w.k_bits = k_bits;
  w.lane8.assign(static_cast<std::size_t>(w.groups()) * k_words * 8, 0);
  for (int o = 0; o < c_out; ++o)
    for (int k = 0; k < k_words; ++k)
      w.lane8[(static_cast<std::size_t>(o / 8) * k_words + k) * 8 + o % 8] =
          bits[static_cast<std::size_t>(o) * k_words + k];
  w.bits = std::move(bits);
  return w;
}

}  // namespace scales::bgemm
