#include <cstddef>

#include "blinear/kernel.h"

namespace scales::blinear {

// Runs once per token per binary linear: built for several ISAs (as bconv/epilogue.cc's rows),
// the shift test hoisted out of the channel loop so each variant vectorises.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void pack_token_signs(const float* x, int tokens, int channels, const float* shift, uint64_t* out) {
  const int words = (channels + 63) / 64;
  for (int t = 0; t < tokens; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * channels;
    uint64_t* o = out + static_cast<std::size_t>(t) * words;
    for (int w = 0; w < words; ++w) {
      uint64_t bits = 0;
      const int c0 = 64 * w, n = channels - c0 < 64 ? channels - c0 : 64;
      // -0.0f < 0 is false: sign(-0) = +1
      if (shift)
        for (int j = 0; j < n; ++j) bits |= static_cast<uint64_t>(xt[c0 + j] + shift[c0 + j] < 0.0f) << j;
      else
        for (int j = 0; j < n; ++j) bits |= static_cast<uint64_t>(xt[c0 + j] < 0.0f) << j;
      o[w] = bits;
    }
  }
}

}  // namespace scales::blinear
