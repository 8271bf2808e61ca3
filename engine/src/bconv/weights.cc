#include "bconv/weights.h"

#include <cstddef>

namespace scales::bconv {

BconvWeights make_bconv_weights(std::vector<uint64_t> bits, int c_out, int c_in) {
  BconvWeights w;
  w.c_out = c_out;
  w.c_in = c_in;
  w.words = (c_in + 63) / 64;
  const int kw = w.k_words();
  w.lane8.assign(static_cast<std::size_t>(w.groups()) * kw * 8, 0);
  for (int o = 0; o < c_out; ++o)
    for (int k = 0; k < kw; ++k)
      w.lane8[(static_cast<std::size_t>(o / 8) * kw + k) * 8 + o % 8] = bits[static_cast<std::size_t>(o) * kw + k];
  w.bits = std::move(bits);
  return w;
}

}  // namespace scales::bconv
