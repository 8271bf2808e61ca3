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

// What an image's header says, read without decoding a pixel: enough to know how much memory
// decoding and upscaling it will take before committing to it (the server's memory budget).
struct Header {
  int width = 0, height = 0;
  int bands = 0;             // as stored, alpha included
  int bytes_per_sample = 1;  // 1 for 8-bit, 2 for 16-bit, 4 for float
  bool has_alpha = false;
};
// The same formats, errors and limit checks as decode_buffer, stopping after the header.
Header probe_buffer(const void* data, size_t size, const std::string& what, const Limits& limits = {});

// The output formats, the one vocabulary of the CLI, the server and the codec: each parses its
// input (a flag, a file name, the API's enum) into a Format once, and everything after that
// passes the Format.
enum class Format { png, jpeg, webp, tiff };

// "png", "jpg" or "jpeg", "webp", "tif" or "tiff" (any case); throws Error naming the accepted ones.
Format format_named(const std::string& name);
// The format a file name asks for by its extension (".png", ".JPG", ...); throws Error naming the
// accepted extensions.
Format format_of_path(const std::string& path);
// The extension written for it, without the dot: "png", "jpg", "webp", "tif".
const char* extension(Format f);

// What to encode with, checked once (quality 1..100; it matters for JPEG and WebP only).
struct EncodeOptions {
  Format format = Format::png;
  int quality = 90;
};
// Throws Error for a quality outside 1..100.
EncodeOptions encode_options(Format format, int quality);

// Rounds rgb to 8 bits (floor(255 v + 0.5), clipped); alpha (if non-empty, alpha_w x alpha_h) is
// upscaled bicubically to rgb's size and appended as a fourth band.
std::vector<uint8_t> encode_buffer(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h,
                                   const EncodeOptions& options);
// encode_buffer's bytes written to `path` (whatever its extension says: the caller chose the format).
void encode_file(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h, const std::string& path,
                 const EncodeOptions& options);

}  // namespace scales::imageio
