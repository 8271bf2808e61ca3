// Image files <-> engine images, through libvips.
//
// Decoding: EXIF auto-rotation; gray and other colour spaces converted to 8-bit sRGB; 16-bit input
// is reduced to 8 bits; an alpha channel is split off and returned separately (the model upscales
// RGB only). Encoding: 8-bit RGB (plus alpha if given), format from the file extension.
#pragma once

#include <optional>
#include <string>

#include "scales/engine.h"

namespace scales::client {

struct Decoded {
  Image rgb;                        // float [0, 1], HWC
  std::optional<std::string> note;  // what was converted, for the log
  bool has_alpha = false;
  std::vector<uint8_t> alpha;       // width * height, when has_alpha
};

Decoded decode_file(const std::string& path);

// Rounds rgb to 8 bits (floor(255 v + 0.5), clipped); alpha (if non-empty) is upscaled bicubically
// by `scale` and appended as a fourth band.
void encode_file(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h,
                 const std::string& path, int quality);

}  // namespace scales::client
