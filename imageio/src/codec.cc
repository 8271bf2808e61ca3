#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <vips/vips8>

#include "scales/imageio.h"

namespace scales::imageio {

namespace {

void check_limits(const vips::VImage& im, const std::string& what, const Limits& l) {
  const int64_t w = im.width(), h = im.height();
  if (l.max_side > 0 && std::max(w, h) > l.max_side)
    throw LimitError(what + ": image is " + std::to_string(w) + "x" + std::to_string(h) + ", larger than the " +
                     std::to_string(l.max_side) + "-pixel side limit");
  if (l.max_pixels > 0 && w * h > l.max_pixels)
    throw LimitError(what + ": image has " + std::to_string(w * h) + " pixels (" + std::to_string(w) + "x" +
                     std::to_string(h) + "), more than the limit of " + std::to_string(l.max_pixels));
}

// The header is loaded (lazily, sequential access); the limits are checked before autorot or
// any pixel access decodes the image.
Decoded decode(vips::VImage im, const std::string& what, const Limits& limits) {
  Decoded d;
  check_limits(im, what, limits);
  // Decode once into memory: the loader streams sequentially, and the alpha and colour bands are
  // read separately below (a second sequential pass fails: "out of order read").
  im = im.autorot().copy_memory();
  if (im.has_alpha()) {
    vips::VImage a = im.extract_band(im.bands() - 1);
    im = im.extract_band(0, vips::VImage::option()->set("n", im.bands() - 1));
    if (a.format() != VIPS_FORMAT_UCHAR) a = (a.format() == VIPS_FORMAT_USHORT ? a / 257.0 : a).cast(VIPS_FORMAT_UCHAR);
    d.has_alpha = true;
    size_t n = 0;
    auto* mem = static_cast<uint8_t*>(a.write_to_memory(&n));
    d.alpha.assign(mem, mem + n);
    g_free(mem);
  }
  if (im.interpretation() != VIPS_INTERPRETATION_sRGB || im.bands() != 3) im = im.colourspace(VIPS_INTERPRETATION_sRGB);
  if (im.format() != VIPS_FORMAT_UCHAR) im = im.cast(VIPS_FORMAT_UCHAR);
  size_t size = 0;
  auto* mem = static_cast<uint8_t*>(im.write_to_memory(&size));
  d.rgb.width = im.width();
  d.rgb.height = im.height();
  d.rgb.rgb.resize(size);
  for (size_t i = 0; i < size; ++i) d.rgb.rgb[i] = mem[i] / 255.0f;
  g_free(mem);
  if (d.rgb.rgb.size() != static_cast<size_t>(d.rgb.width) * d.rgb.height * 3)
    throw Error(what + ": decoded image has an unexpected layout");
  return d;
}

// Sequential streaming, and a truncated or corrupt file is an error (libvips would otherwise
// return the part it could read).
vips::VOption* load_options() {
  return vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL)->set("fail_on", VIPS_FAIL_ON_ERROR);
}

vips::VImage to_vips(const Image& rgb, std::vector<uint8_t>& px, const std::vector<uint8_t>& alpha, int alpha_w,
                     int alpha_h) {
  px.resize(rgb.rgb.size());
  for (size_t i = 0; i < px.size(); ++i)
    px[i] = static_cast<uint8_t>(std::floor(std::min(255.0f, std::max(0.0f, rgb.rgb[i] * 255.0f)) + 0.5f));
  vips::VImage out = vips::VImage::new_from_memory(px.data(), px.size(), rgb.width, rgb.height, 3, VIPS_FORMAT_UCHAR);
  out = out.copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
  if (!alpha.empty()) {
    vips::VImage a = vips::VImage::new_from_memory(const_cast<uint8_t*>(alpha.data()), alpha.size(), alpha_w, alpha_h,
                                                   1, VIPS_FORMAT_UCHAR);
    a = a.resize(static_cast<double>(rgb.width) / alpha_w,
                 vips::VImage::option()
                     ->set("kernel", VIPS_KERNEL_CUBIC)
                     ->set("vscale", static_cast<double>(rgb.height) / alpha_h));
    out = out.bandjoin(a);
  }
  return out;
}

}  // namespace

Decoded decode_file(const std::string& path, const Limits& limits) {
  try {
    return decode(vips::VImage::new_from_file(path.c_str(), load_options()), path, limits);
  } catch (const vips::VError& e) {
    throw Error(path + ": cannot decode image: " + std::string(e.what()));
  }
}

namespace {
// decode_buffer's and probe_buffer's gate: only the four formats the service documents.
void check_accepted_format(const void* data, size_t size, const std::string& what) {
  if (size == 0) throw Error(what + ": image is empty (0 bytes)");
  // Only the four formats the service documents: libvips would otherwise hand unknown bytes to
  // every loader it has (ImageMagick's included), a much larger attack surface.
  const char* loader = vips_foreign_find_load_buffer(data, size);
  if (!loader) {
    vips_error_clear();
    throw Error(what + ": not a recognised image (PNG, JPEG, WebP or TIFF)");
  }
  // The loader's class name ("VipsForeignLoadPngBuffer") or nickname ("pngload_buffer").
  std::string name(loader);
  for (const char* cut : {"VipsForeignLoad", "Buffer", "load_buffer"})
    if (const auto at = name.find(cut); at != std::string::npos) name.erase(at, std::string(cut).size());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name != "png" && name != "jpeg" && name != "webp" && name != "tiff")
    throw Error(what + ": image format '" + name + "' is not accepted (PNG, JPEG, WebP or TIFF)");
}
}  // namespace

Header probe_buffer(const void* data, size_t size, const std::string& what, const Limits& limits) {
  check_accepted_format(data, size, what);
  try {
    // new_from_buffer parses the header only; pixels are decoded when first read.
    const vips::VImage im = vips::VImage::new_from_buffer(data, size, "", load_options());
    check_limits(im, what, limits);
    Header h;
    h.width = im.width();
    h.height = im.height();
    h.bands = im.bands();
    h.bytes_per_sample = static_cast<int>(vips_format_sizeof(im.format()));
    h.has_alpha = im.has_alpha();
    return h;
  } catch (const vips::VError& e) {
    throw Error(what + ": cannot decode image: " + std::string(e.what()));
  }
}

Decoded decode_buffer(const void* data, size_t size, const std::string& what, const Limits& limits) {
  check_accepted_format(data, size, what);
  try {
    return decode(vips::VImage::new_from_buffer(data, size, "", load_options()), what, limits);
  } catch (const vips::VError& e) {
    throw Error(what + ": cannot decode image: " + std::string(e.what()));
  }
}

namespace {
std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

Format format_named(const std::string& name) {
  const std::string n = lowercase(name);
  if (n == "png") return Format::png;
  if (n == "jpg" || n == "jpeg") return Format::jpeg;
  if (n == "webp") return Format::webp;
  if (n == "tif" || n == "tiff") return Format::tiff;
  throw Error("unknown output format '" + name + "' (png, jpg, webp, tif)");
}

Format format_of_path(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  const size_t slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    throw Error(path + ": the output file needs an extension (.png, .jpg, .webp, .tif)");
  try {
    return format_named(path.substr(dot + 1));
  } catch (const Error&) {
    throw Error(path + ": unknown output extension '" + path.substr(dot) + "' (.png, .jpg, .webp, .tif)");
  }
}

const char* extension(Format f) {
  switch (f) {
    case Format::png: return "png";
    case Format::jpeg: return "jpg";
    case Format::webp: return "webp";
    case Format::tiff: return "tif";
  }
  return "png";
}

EncodeOptions encode_options(Format format, int quality) {
  if (quality < 1 || quality > 100) throw Error("quality must be 1..100, got " + std::to_string(quality));
  return {format, quality};
}

std::vector<uint8_t> encode_buffer(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h,
                                   const EncodeOptions& options) {
  const std::string suffix = std::string(".") + extension(options.format);
  std::vector<uint8_t> px;
  try {
    vips::VImage out = to_vips(rgb, px, alpha, alpha_w, alpha_h);
    void* buf = nullptr;
    size_t n = 0;
    if (options.format == Format::jpeg || options.format == Format::webp)
      out.write_to_buffer(suffix.c_str(), &buf, &n, vips::VImage::option()->set("Q", options.quality));
    else
      out.write_to_buffer(suffix.c_str(), &buf, &n);
    std::vector<uint8_t> bytes(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + n);
    g_free(buf);
    return bytes;
  } catch (const vips::VError& e) {
    throw Error("cannot encode " + suffix.substr(1) + ": " + std::string(e.what()));
  }
}

void encode_file(const Image& rgb, const std::vector<uint8_t>& alpha, int alpha_w, int alpha_h, const std::string& path,
                 const EncodeOptions& options) {
  const std::vector<uint8_t> bytes = encode_buffer(rgb, alpha, alpha_w, alpha_h, options);
  std::ofstream f(path, std::ios::binary);
  if (!f || !f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw Error(path + ": cannot write image");
}

}  // namespace scales::imageio
