// Binary conv weights in the layouts the kernels read, built once when a model is loaded.
//
//   bits   (C_out, 3, 3, words)          the model file's layout; the reference kernel reads it
//   lane8  (groups, 9 * words, 8)        groups = ceil(C_out / 8); entry [g][k][l] is word k of
//                                        output channel 8g + l, k = (kh * 3 + kw) * words + w.
//                                        Channels past C_out are zero words and never stored.
//
// lane8 lets a SIMD kernel load the same weight word of 8 output channels with one load and XOR
// it against one broadcast activation word: output channels live in vector lanes.
#pragma once

#include <cstdint>
#include <vector>

namespace scales::bconv {

struct BconvWeights {
  int c_out = 0, c_in = 0, words = 0;
  std::vector<uint64_t> bits;
  std::vector<uint64_t> lane8;

  int groups() const { return (c_out + 7) / 8; }
  int k_words() const { return 9 * words; }
  int32_t k_bits() const { return 9 * c_in; }  // K: the +-1 dot product length
};

BconvWeights make_bconv_weights(std::vector<uint64_t> bits, int c_out, int c_in);

// (c_out, k_words) words -> the lane8 layout (ceil(c_out / 8), k_words, 8); shared with the
// binary linear layer's weights (blinear/kernel.h), whose k_words is one tap's words.
std::vector<uint64_t> to_lane8(const std::vector<uint64_t>& bits, int c_out, int k_words);

}  // namespace scales::bconv
