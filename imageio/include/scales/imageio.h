// Encoded images <-> engine images, through libvips; shared by scales-upscale and scales-server.
//
// Decoding: the header is read first and the pixel and side limits are checked before any pixel
// is decoded (a decompression bomb costs a header parse); truncated or corrupt files are errors; EXIF auto-rotation;
// gray and other colour spaces are converted to 8-bit sRGB; 16-bit input is reduced to 8 bits; an alpha channel is
// split off and returned separately (the model upscales RGB; alpha is upscaled bicubically on encode). Encoding: 8-bit
// RGB (plus alpha if given) as PNG (default), JPEG, WebP or TIFF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scales/types.h"

namespace scales::imageio {

// The image is larger than the caller's limits (a server maps this to RESOURCE_EXHAUSTED).
class LimitError : public Error {
 public:
  using Error::Error;
};

struct Limits {
  int64_t max_pixels = 0;  // width * height; 0 = no limit
  int max_side = 0;        // max(width, height); 0 = no limit
};

struct Decoded {
  Image rgb;  // float [0, 1], HWC
  bool has_alpha = false;
  std::vector<uint8_t> alpha;  // width * height, when has_alpha
};

// Throws scales::Error naming `what` and the problem (cannot decode, too large, ...).
Decoded decode_file(const std::string& path, const Limits& limits = {});
// decode_buffer accepts PNG, JPEG, WebP and TIFF only (the server's inputs); decode_file
// whatever libvips loads (the local CLI's own files).
Decoded decode_buffer(const void* data, size_t size, const std::string& what, const Limits& limits = {});

// "png", "jpg", "webp", "tif", or throws Error.
std::string check_format(const std::string& format);

// Rounds rgb to 8 bits (floor(255 v + 0.5), clipped); alpha (if non-empty, alpha_w x alpha_h) is
// upscaled bicubically to rgb's size and appended as a fourth band. quality: JPEG/WebP, 1..100.
std::vector<uint8_t> encode_buffer(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h,
                                   const std::string& format, int quality);
// Format from the file extension.
void encode_file(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h, const std::string& path,
                 int quality);

}  // namespace scales::imageio
