// Binary weights in the layouts the GEMM kernels read (bgemm.h), built once when a model loads.
//
//   bits   (c_out, k_words)         the model file's layout; the reference kernel reads it
//   lane8  (groups, k_words, 8)     groups = ceil(c_out / 8); entry [g][k][l] is word k of output
//                                   channel 8g + l. Channels past c_out are zero words.
#pragma once

#include <cstdint>
#include <vector>

namespace scales::bgemm {

struct Weights {
  int c_out = 0, k_words = 0;
  int32_t k_bits = 0;  // K: the +-1 dot product's length
  std::vector<uint64_t> bits;
  std::vector<uint64_t> lane8;

  int groups() const { return (c_out + 7) / 8; }
};

Weights make_weights(std::vector<uint64_t> bits, int c_out, int k_words, int32_t k_bits);

}  // namespace scales::bgemm
