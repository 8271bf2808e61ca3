#include "bconv/pack.h"

#include <algorithm>

namespace scales::bconv {

void pack_signs(const float* x, int height, int width, int channels, const float* shift, PackedMap& out) {
  const int words = (channels + 63) / 64;
  out.height = height;
  out.width = width;
  out.words = words;
  out.bits.assign(static_cast<size_t>(height + 2) * (width + 2) * words, 0);
  for (int y = 0; y < height; ++y) {
    for (int xx = 0; xx < width; ++xx) {
      const float* px = x + (static_cast<size_t>(y) * width + xx) * channels;
      uint64_t* dst = out.bits.data() + (static_cast<size_t>(y + 1) * (width + 2) + (xx + 1)) * words;
      for (int w = 0; w < words; ++w) {
        const int c0 = w * 64, c1 = std::min(channels, c0 + 64);
        uint64_t word = 0;
        for (int c = c0; c < c1; ++c) {
          const float u = shift ? px[c] + shift[c] : px[c];
          word |= static_cast<uint64_t>(u < 0.0f) << (c - c0);
        }
        dst[w] = word;
      }
    }
  }
}

}  // namespace scales::bconv
