#include <cstddef>

#include "blinear/kernel.h"

namespace scales::blinear {

BlinearWeights make_blinear_weights(std::vector<uint64_t> bits, int c_out, int c_in) {
  BlinearWeights w;
  w.c_out = c_out;
  w.c_in = c_in;
  w.words = (c_in + 63) / 64;
  w.lane8.assign(static_cast<std::size_t>(w.groups()) * w.words * 8, 0);
  for (int o = 0; o < c_out; ++o)
    for (int k = 0; k < w.words; ++k)
      w.lane8[(static_cast<std::size_t>(o / 8) * w.words + k) * 8 + o % 8] =
          bits[static_cast<std::size_t>(o) * w.words + k];
  w.bits = std::move(bits);
  return w;
}

}  // namespace scales::blinear
