// The tensor-core conv's weight layout (bconv3x3_bmma.cu), made on the host from the model file's
// bits (C_out, 3, 3, words): the im2col row of one output channel, 9 x words uint64 words, split
// into 128-bit chunks stored chunk-major, (kchunks, C_out, 2) with zero words past 9 x words, so
// each 8-channel x 128-bit operand is one contiguous, 256-bit-aligned block; and each output
// channel's number of set bits (the AND form's popc(w)).
#pragma once

#include <cstdint>
#include <vector>

namespace scales::cuda {

struct BmmaWeights {
  std::vector<uint64_t> chunks;
  std::vector<int> popc;
};

BmmaWeights make_bmma_weights(const std::vector<uint64_t>& bits, int c_out, int words);

}  // namespace scales::cuda
