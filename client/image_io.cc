#include "image_io.h"

#include <vips/vips8>

#include <cmath>
#include <stdexcept>

namespace scales::client {

Decoded decode_file(const std::string& path) {
  Decoded d;
  vips::VImage im;
  try {
    im = vips::VImage::new_from_file(path.c_str(), vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
    im = im.autorot();
    if (im.has_alpha()) {
      vips::VImage a = im.extract_band(im.bands() - 1);
      im = im.extract_band(0, vips::VImage::option()->set("n", im.bands() - 1));
      if (a.format() != VIPS_FORMAT_UCHAR)
        a = (a.format() == VIPS_FORMAT_USHORT ? a / 257.0 : a).cast(VIPS_FORMAT_UCHAR);
      d.has_alpha = true;
      auto* mem = static_cast<uint8_t*>(a.write_to_memory(nullptr));
      d.alpha.assign(mem, mem + static_cast<size_t>(a.width()) * a.height());
      g_free(mem);
    }
    if (im.interpretation() != VIPS_INTERPRETATION_sRGB || im.bands() != 3)
      im = im.colourspace(VIPS_INTERPRETATION_sRGB);
    if (im.format() != VIPS_FORMAT_UCHAR) im = im.cast(VIPS_FORMAT_UCHAR);
    size_t size = 0;
    auto* mem = static_cast<uint8_t*>(im.write_to_memory(&size));
    d.rgb.width = im.width();
    d.rgb.height = im.height();
    d.rgb.rgb.resize(size);
    for (size_t i = 0; i < size; ++i) d.rgb.rgb[i] = mem[i] / 255.0f;
    g_free(mem);
  } catch (const vips::VError& e) {
    throw Error(path + ": cannot decode image: " + std::string(e.what()));
  }
  return d;
}

void encode_file(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h,
                 const std::string& path, int quality) {
  std::vector<uint8_t> px(rgb.rgb.size());
  for (size_t i = 0; i < px.size(); ++i) {
    const float v = std::floor(std::min(255.0f, std::max(0.0f, rgb.rgb[i] * 255.0f)) + 0.5f);
    px[i] = static_cast<uint8_t>(v);
  }
  try {
    vips::VImage out = vips::VImage::new_from_memory(px.data(), px.size(), rgb.width, rgb.height, 3, VIPS_FORMAT_UCHAR);
    out = out.copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
    if (!alpha.empty()) {
      vips::VImage a = vips::VImage::new_from_memory(const_cast<uint8_t*>(alpha.data()), alpha.size(), alpha_w, alpha_h,
                                                     1, VIPS_FORMAT_UCHAR);
      a = a.resize(static_cast<double>(rgb.width) / alpha_w,
                   vips::VImage::option()->set("kernel", VIPS_KERNEL_CUBIC)->set(
                       "vscale", static_cast<double>(rgb.height) / alpha_h));
      out = out.bandjoin(a);
    }
    const bool lossy = path.ends_with(".jpg") || path.ends_with(".jpeg") || path.ends_with(".webp");
    if (lossy) out.write_to_file(path.c_str(), vips::VImage::option()->set("Q", quality));
    else out.write_to_file(path.c_str());
  } catch (const vips::VError& e) {
    throw Error(path + ": cannot write image: " + std::string(e.what()));
  }
}

}  // namespace scales::client
