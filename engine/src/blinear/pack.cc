#include <cstddef>

#include "blinear/kernel.h"

namespace scales::blinear {

void pack_token_signs(const float* x, int tokens, int channels, const float* shift, uint64_t* out) {
  const int words = (channels + 63) / 64;
  for (int t = 0; t < tokens; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * channels;
    uint64_t* o = out + static_cast<std::size_t>(t) * words;
    for (int w = 0; w < words; ++w) {
      uint64_t bits = 0;
      const int c0 = 64 * w, n = channels - c0 < 64 ? channels - c0 : 64;
      for (int j = 0; j < n; ++j) {
        const float u = shift ? xt[c0 + j] + shift[c0 + j] : xt[c0 + j];
        bits |= static_cast<uint64_t>(u < 0.0f) << j;  // -0.0f < 0 is false: sign(-0) = +1
      }
      o[w] = bits;
    }
  }
}

}  // namespace scales::blinear
