// Encoded images <-> engine images, through libvips; shared by scales-upscale and scales-server.
//
// Decoding: the header is read first and the pixel and side limits are checked, and animated or
// multi-page images refused, before any pixel is decoded (a decompression bomb costs a header
// parse); truncated or corrupt files are errors. EXIF orientation is applied to the pixels once.
// The model runs on RGB floats in [0, 1]: 8-bit samples are divided by 255, 16-bit ones by 65535;
// gray is replicated into three channels; an alpha channel is split off (upscaled bicubically on
// encode). Colour policy: RGB and gray input keeps its encoded values and its ICC profile (the
// output means the same colours; a profile for another colour space is dropped); CMYK (through
// its embedded profile, or libvips' default CMYK one) and every other space (Lab, ...: libvips'
// colourspace) is converted to sRGB and the output tagged with libvips' sRGB profile. Sample
// formats other than 8 and 16 bits (float, 32-bit) are cast to 8 bits.
// Everything the output needs to look like the input (depth, gray, ICC, EXIF, XMP) is returned in
// one plain Metadata and handed back to encode.
//
// Encoding: PNG (default), JPEG, WebP or TIFF. PNG and TIFF keep the input's depth (8 or 16 bits);
// JPEG and WebP are 8-bit formats, so 16-bit input is written with 8 bits there. Gray input is
// written with one band (two with alpha), the mean of the model's three channels; WebP stores RGB
// only, so gray written as WebP is three equal bands without the (gray) ICC profile. Alpha is
// upscaled bicubically (Catmull-Rom, pixel centres aligned). EXIF and XMP are copied with the
// orientation tag set to 1, so the output is not rotated again when read (libvips' TIFF writer
// keeps the XMP but has no EXIF directory: TIFF outputs lose the EXIF block).
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

// The facts about an input that its output keeps: a plain struct (no libvips types), filled by
// decode and read by encode.
struct Metadata {
  int bits = 8;       // sample depth of the input's colour, 8 or 16 (the output's for PNG and TIFF)
  bool gray = false;  // one colour band (replicated into RGB for the model, written back as one)
  std::string icc;    // ICC profile bytes for the decoded values ("" = none: sRGB by convention)
  std::string exif;   // the input's EXIF block ("" = none); written with orientation 1
  std::string xmp;    // the input's XMP packet ("" = none)
};

// An alpha plane at the input's (oriented) size, float [0, 1], row-major; empty = no alpha.
struct Alpha {
  int width = 0;
  int height = 0;
  std::vector<float> values;
  bool empty() const { return values.empty(); }
};

struct Decoded {
  Image rgb;  // float [0, 1], HWC; gray input has three equal channels
  Alpha alpha;
  Metadata meta;
};

// The same, with the colour kept as the decoder's 8- or 16-bit samples (gray replicated into
// three channels): a quarter (8-bit) or half of the memory of the floats, for a tile job to
// convert window by window (scales::TileJob). Decoding streams from the loader unless the
// image must be rotated, so the samples are the one whole-image buffer.
struct DecodedSamples {
  SampleImage rgb;
  Alpha alpha;
  Metadata meta;
};

// Throws scales::Error naming `what` and the problem (cannot decode, too large, ...).
Decoded decode_file(const std::string& path, const Limits& limits = {});
DecodedSamples decode_file_samples(const std::string& path, const Limits& limits = {});
// decode_buffer accepts PNG, JPEG, WebP and TIFF only (the server's inputs); decode_file
// whatever libvips loads (the local CLI's own files).
Decoded decode_buffer(const void* data, size_t size, const std::string& what, const Limits& limits = {});
DecodedSamples decode_buffer_samples(const void* data, size_t size, const std::string& what, const Limits& limits = {});
// The same gate and result, reading an open file from its start (the server's spooled uploads):
// the encoded bytes stay on disk and only the samples are held. `fd` stays open and owned by the
// caller; its file offset moves.
DecodedSamples decode_descriptor_samples(int fd, const std::string& what, const Limits& limits = {});

// What an image's header says, read without decoding a pixel: enough to know how much memory
// decoding and upscaling it will take before committing to it (the server's memory budget).
struct Header {
  int width = 0, height = 0;
  int bands = 0;             // as stored, alpha included
  int bytes_per_sample = 1;  // 1 for 8-bit, 2 for 16-bit, 4 for float
  bool has_alpha = false;
  bool rotated = false;  // an EXIF orientation other than 1: decoding holds the whole image to rotate it
};
// The same formats, errors and limit checks as decode_buffer, stopping after the header.
Header probe_buffer(const void* data, size_t size, const std::string& what, const Limits& limits = {});
Header probe_descriptor(int fd, const std::string& what, const Limits& limits = {});

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

// Rounds rgb to meta.bits (8 for JPEG and WebP): floor((2^bits - 1) v + 0.5), clipped; gray
// (meta.gray) becomes one band, the mean of the three. alpha (if not empty) is upscaled
// bicubically to rgb's size, rounded the same way and appended as the last band. meta's ICC
// profile (if it fits the written bands), EXIF and XMP are attached, with orientation 1.
std::vector<uint8_t> encode_buffer(const Image& rgb, const Alpha& alpha, const Metadata& meta,
                                   const EncodeOptions& options);
// encode_buffer's bytes written to `path` (whatever its extension says: the caller chose the format).
void encode_file(const Image& rgb, const Alpha& alpha, const Metadata& meta, const std::string& path,
                 const EncodeOptions& options);

}  // namespace scales::imageio
