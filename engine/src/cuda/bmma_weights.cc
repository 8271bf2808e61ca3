#include "cuda/bmma_weights.h"

#include <bit>

#include "cuda/bmma_layout.h"

namespace scales::cuda {

BmmaWeights make_bmma_weights(const std::vector<uint64_t>& bits, int c_out, int words) {
  const int kchunks = bmma::kchunks(words), k_words = 9 * words;
  BmmaWeights w;
  w.chunks.assign(static_cast<size_t>(kchunks) * c_out * 2, 0);
  w.popc.assign(c_out, 0);
  for (int o = 0; o < c_out; ++o)
    for (int k = 0; k < k_words; ++k) {
      const uint64_t v = bits[static_cast<size_t>(o) * k_words + k];
      w.chunks[bmma::b_index(k, o, c_out)] = v;
      w.popc[o] += std::popcount(v);
    }
  return w;
}

}  // namespace scales::cuda
