// Sign-bit packing of activations for the binary 3x3 conv.
//
// Layout (the same as the model file's weights, docs/model-format.md): a pixel's C channels are
// `words = ceil(C / 64)` uint64 words; bit j of word w is channel 64*w + j; a set bit means -1
// (u < 0), a clear bit +1 (u >= 0, so sign(0) = +1); bits past channel C are 0.
// The packed map carries a one-pixel border of zero words around the image: +1, the model's
// padding value, so the kernel reads its 3x3 neighbourhood without bounds checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace scales::bconv {

struct PackedMap {
  int height = 0, width = 0, words = 0;  // image size (without the border)
  std::vector<uint64_t> bits;            // (height + 2) x (width + 2) x words, border zero

  const uint64_t* at(int y, int x) const {  // y, x in [-1, height] x [-1, width]
    return bits.data() + (static_cast<size_t>(y + 1) * (width + 2) + (x + 1)) * words;
  }
};

// u = x + shift (shift may be null: no shift); x is HWC float with `channels` channels.
void pack_signs(const float* x, int height, int width, int channels, const float* shift, PackedMap& out);

}  // namespace scales::bconv
