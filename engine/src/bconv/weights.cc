#include "bconv/weights.h"

#include <cstddef>

namespace scales::bconv {

BconvWeights make_bconv_weights(std::vector<uint64_t> bits, int c_out, int c_in) {
  BconvWeights w;
  w.c_out = c_out;
  w.c_in = c_in;
  w.words = (c_in + 63) / 64;
  w.lane8 = to_lane8(bits, c_out, w.k_words());
  w.bits = std::move(bits);
  return w;
}

std::vector<uint64_t> to_lane8(const std::vector<uint64_t>& bits, int c_out, int k_words) {
  std::vector<uint64_t> lane8(static_cast<std::size_t>((c_out + 7) / 8) * k_words * 8, 0);
  for (int o = 0; o < c_out; ++o)
    for (int k = 0; k < k_words; ++k)
      lane8[(static_cast<std::size_t>(o / 8) * k_words + k) * 8 + o % 8] = bits[static_cast<std::size_t>(o) * k_words + k];
  return lane8;
}

}  // namespace scales::bconv
