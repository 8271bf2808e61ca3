#include <cstddef>

#include "bconv/weights.h"
#include "blinear/kernel.h"

namespace scales::blinear {

BlinearWeights make_blinear_weights(std::vector<uint64_t> bits, int c_out, int c_in) {
  BlinearWeights w;
  w.c_out = c_out;
  w.c_in = c_in;
  w.words = (c_in + 63) / 64;
  w.lane8 = bconv::to_lane8(bits, c_out, w.words);
  w.bits = std::move(bits);
  return w;
}

}  // namespace scales::blinear
