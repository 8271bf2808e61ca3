// The output side shared by the whole-image encoder (codec.cc) and the row encoder
// (row_encoder.cc): which samples a format gets, the engine's floats rounded into them, and the
// alpha, interpretation and metadata attached to the libvips image that is written.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vips/vips8>

#include "scales/imageio.h"

namespace scales::imageio::detail {

// The samples an output is written with.
struct OutputLayout {
  bool deep = false;      // 16 bits (PNG and TIFF of 16-bit input); else 8
  bool gray = false;      // the input was gray: the model's three channels are averaged
  bool one_band = false;  // written as one band (gray, except in WebP, which holds RGB only)
  int bands() const { return one_band ? 1 : 3; }
  size_t sample_bytes() const { return deep ? 2 : 1; }
  VipsBandFormat format() const { return deep ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR; }
};
inline OutputLayout output_layout(const Metadata& meta, Format format) {
  OutputLayout l;
  // JPEG and WebP hold 8 bits; WebP holds RGB only (gray is written as three equal bands).
  l.deep = meta.bits == 16 && (format == Format::png || format == Format::tiff);
  l.gray = meta.gray;
  l.one_band = meta.gray && format != Format::webp;
  return l;
}

// [0, 1] -> 0..max, floor(max v + 0.5), clipped.
template <typename T>
T quantize(float v, float max) {
  return static_cast<T>(std::floor(std::min(max, std::max(0.0f, v * max)) + 0.5f));
}

// `pixels` RGB floats into the layout's samples at `out` (pixels * bands() samples of 8 or 16
// bits). Gray: the model saw three equal channels; its output's channels differ by its own
// error only, so their mean is written.
template <typename T>
void quantize_pixels(const float* rgb, size_t pixels, const OutputLayout& l, T* out) {
  const float max = l.deep ? 65535.0f : 255.0f;
  if (!l.gray) {
    for (size_t i = 0; i < pixels * 3; ++i) out[i] = quantize<T>(rgb[i], max);
    return;
  }
  for (size_t i = 0; i < pixels; ++i) {
    const T m = quantize<T>((rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3.0f, max);
    if (l.one_band)
      out[i] = m;
    else
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = m;
  }
}
inline void quantize_pixels(const float* rgb, size_t pixels, const OutputLayout& l, void* out) {
  if (l.deep)
    quantize_pixels(rgb, pixels, l, static_cast<uint16_t*>(out));
  else
    quantize_pixels(rgb, pixels, l, static_cast<uint8_t*>(out));
}

// The colour samples (the layout's bands and format) made into the image to write: the alpha
// plane upscaled and appended, the interpretation set, the input's ICC profile (where it fits
// the bands), EXIF (orientation 1) and XMP attached. The result reads alpha's values: they must
// outlive it.
vips::VImage dress_output(vips::VImage colour, const Alpha& alpha, const Metadata& meta);

}  // namespace scales::imageio::detail
