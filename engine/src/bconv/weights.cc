#include "bconv/weights.h"

#include <utility>

namespace scales::bconv {

BconvWeights make_bconv_weights(std::vector<uint64_t> bits, int c_out, int c_in) {
  BconvWeights w;
  const int words = (c_in + 63) / 64;
  static_cast<bgemm::Weights&>(w) = bgemm::make_weights(std::move(bits), c_out, 9 * words, 9 * c_in);
  w.c_in = c_in;
  w.words = words;
  return w;
}

}  // namespace scales::bconv
