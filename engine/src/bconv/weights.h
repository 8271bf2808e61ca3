// Binary 3x3 conv weights: the GEMM core's two layouts (bgemm/weights.h) over K = 9 * c_in, with
// k = (kh * 3 + kw) * words + w, the model file's (C_out, 3, 3, words) order.
#pragma once

#include <cstdint>
#include <vector>

#include "bgemm/weights.h"

namespace scales::bconv {

struct BconvWeights : bgemm::Weights {
  int c_in = 0, words = 0;  // words = ceil(c_in / 64)
};

BconvWeights make_bconv_weights(std::vector<uint64_t> bits, int c_out, int c_in);

}  // namespace scales::bconv
