#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <vips/vips8>

#include "output.h"
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

// Refused on the header: the model takes one picture, and silently upscaling the first frame of
// an animation (or page of a document) would hand back something the caller did not ask for.
void check_pages(const vips::VImage& im, const std::string& what) {
  if (im.get_typeof(VIPS_META_N_PAGES) == 0) return;
  const int n = im.get_int(VIPS_META_N_PAGES);
  if (n > 1)
    throw Error(what + ": animated or multi-page image (" + std::to_string(n) +
                " pages) is not supported; send one frame");
}

// A metadata blob's bytes, "" when the image has none.
std::string blob(const vips::VImage& im, const char* name) {
  if (im.get_typeof(name) == 0) return {};
  size_t n = 0;
  const void* p = im.get_blob(name, &n);
  return std::string(static_cast<const char*>(p), n);
}

// Whether an ICC profile can describe `bands` colour bands: its header names its colour space
// (bytes 16..19, "RGB " or "GRAY"); a profile for another space would make readers misread it.
bool profile_fits(const std::string& icc, int bands) {
  if (icc.size() < 128) return false;  // shorter than an ICC header: not a profile
  const std::string space = icc.substr(16, 4);
  return (bands == 3 && space == "RGB ") || (bands == 1 && space == "GRAY");
}

// Colour the model can take as it is: RGB or gray, 8 or 16 bits (what PNG, JPEG, WebP and most
// TIFFs hold). Everything else (CMYK, Lab, float, ...) is converted to sRGB first.
bool rgb_or_gray(const vips::VImage& c) {
  if (c.format() != VIPS_FORMAT_UCHAR && c.format() != VIPS_FORMAT_USHORT) return false;
  const VipsInterpretation i = c.interpretation();
  if (c.bands() == 1) return true;
  return c.bands() == 3 && (i == VIPS_INTERPRETATION_sRGB || i == VIPS_INTERPRETATION_RGB16 ||
                            i == VIPS_INTERPRETATION_RGB || i == VIPS_INTERPRETATION_MULTIBAND);
}

// libvips' built-in sRGB profile, the tag of converted images.
std::string srgb_profile() {
  VipsBlob* b = vips::VImage::profile_load("srgb");
  size_t n = 0;
  const void* p = vips_blob_get(b, &n);
  std::string bytes(static_cast<const char*>(p), n);
  vips_area_unref(VIPS_AREA(b));
  return bytes;
}

// 8 or 16 bits are kept; any other sample format (float, 32-bit, signed) is cast to 8 bits.
vips::VImage to_8_or_16_bits(const vips::VImage& im) {
  if (im.format() == VIPS_FORMAT_UCHAR || im.format() == VIPS_FORMAT_USHORT) return im;
  return im.cast(VIPS_FORMAT_UCHAR);
}

// Reads `im` top to bottom in strips of rows (sequential access, so the loader streams and
// never holds the whole decoded image), handing each strip's first row and height to `strip`.
template <typename F>
void read_strips(const vips::VImage& im, F&& strip) {
  VipsRegion* region = vips_region_new(im.get_image());
  if (!region) throw vips::VError();
  const int rows = 64;
  for (int y = 0; y < im.height(); y += rows) {
    VipsRect r{0, y, im.width(), std::min(rows, im.height() - y)};
    if (vips_region_prepare(region, &r)) {
      g_object_unref(region);
      throw vips::VError();
    }
    try {
      strip(region, y, r.height);
    } catch (...) {
      g_object_unref(region);
      throw;
    }
  }
  g_object_unref(region);
}

// The header is loaded (lazily, sequential access); the limits and the page count are checked
// before any pixel is decoded.
DecodedSamples decode(vips::VImage im, const std::string& what, const Limits& limits) {
  DecodedSamples d;
  check_limits(im, what, limits);
  check_pages(im, what);
  d.meta.icc = blob(im, VIPS_META_ICC_NAME);
  d.meta.exif = blob(im, VIPS_META_EXIF_NAME);
  d.meta.xmp = blob(im, VIPS_META_XMP_NAME);
  // The orientation is applied to the pixels, and the output written with orientation 1
  // (encode), so it is applied exactly once. Rotating needs random access: only then is the
  // image decoded into memory first; otherwise it streams from the loader, strip by strip.
  const int orientation = im.get_typeof(VIPS_META_ORIENTATION) ? im.get_int(VIPS_META_ORIENTATION) : 1;
  if (orientation != 1) im = im.copy_memory().autorot();
  // Packed pixel codings (8-bit CIELAB TIFF loads as LABQ, Radiance as RAD) are unpacked to
  // plain bands first, so the band counting below sees colour bands.
  if (im.coding() == VIPS_CODING_LABQ) im = im.LabQ2Lab();
  if (im.coding() == VIPS_CODING_RAD) im = im.rad2float();
  vips::VImage colour = im, alpha;
  const bool has_alpha = im.has_alpha();
  if (has_alpha) {
    alpha = to_8_or_16_bits(im.extract_band(im.bands() - 1));
    colour = im.extract_band(0, vips::VImage::option()->set("n", im.bands() - 1));
  }
  if (rgb_or_gray(colour)) {
    // Upscaled in its own encoded values; the profile (if it describes them) goes to the output.
    if (!profile_fits(d.meta.icc, colour.bands())) d.meta.icc.clear();
  } else {
    // Converted to sRGB, 16 bits if the input had 16 (CMYK through its own profile, or libvips'
    // default CMYK profile), and tagged as sRGB.
    const bool deep = colour.format() == VIPS_FORMAT_USHORT;
    if (colour.interpretation() == VIPS_INTERPRETATION_CMYK)
      colour = colour.icc_transform(
          "srgb",
          vips::VImage::option()->set("embedded", true)->set("input_profile", "cmyk")->set("depth", deep ? 16 : 8));
    else
      colour = colour.colourspace(deep ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB);
    colour = to_8_or_16_bits(colour);
    d.meta.icc = srgb_profile();
  }
  const int cb = colour.bands();
  if (cb != 1 && cb != 3) throw Error(what + ": decoded image has an unexpected layout");
  d.meta.bits = colour.format() == VIPS_FORMAT_USHORT ? 16 : 8;
  d.meta.gray = cb == 1;
  const int w = colour.width(), h = colour.height();
  SampleImage& s = d.rgb;
  s.width = w;
  s.height = h;
  s.bits = d.meta.bits;
  const size_t n = static_cast<size_t>(w) * h;
  if (s.bits == 16)
    s.u16.resize(n * 3);
  else
    s.u8.resize(n * 3);
  // Colour and alpha are read together, one pass over the loader: joined as floats (every 8- and
  // 16-bit value is exact in a float) when there is alpha, in their own format when not.
  const float amax = has_alpha && alpha.format() == VIPS_FORMAT_USHORT ? 65535.0f : 255.0f;
  if (has_alpha) {
    d.alpha.width = w;
    d.alpha.height = h;
    d.alpha.values.resize(n);
  }
  const vips::VImage joined =
      has_alpha ? colour.cast(VIPS_FORMAT_FLOAT).bandjoin(alpha.cast(VIPS_FORMAT_FLOAT)) : colour;
  read_strips(joined, [&](VipsRegion* region, int y0, int rows) {
    for (int y = y0; y < y0 + rows; ++y) {
      const size_t at = static_cast<size_t>(y) * w;
      const VipsPel* row = VIPS_REGION_ADDR(region, 0, y);
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) {
          const int band = cb == 1 ? 0 : c;  // gray: three equal channels, the model runs on RGB
          if (has_alpha) {
            const float v = reinterpret_cast<const float*>(row)[x * (cb + 1) + band];
            if (s.bits == 16)
              s.u16[(at + x) * 3 + c] = static_cast<uint16_t>(v);
            else
              s.u8[(at + x) * 3 + c] = static_cast<uint8_t>(v);
          } else if (s.bits == 16) {
            s.u16[(at + x) * 3 + c] = reinterpret_cast<const uint16_t*>(row)[x * cb + band];
          } else {
            s.u8[(at + x) * 3 + c] = row[x * cb + band];
          }
        }
        if (has_alpha) d.alpha.values[at + x] = reinterpret_cast<const float*>(row)[x * (cb + 1) + cb] / amax;
      }
    }
  });
  return d;
}

Decoded to_floats(DecodedSamples s) {
  Decoded d;
  d.rgb = to_image(s.rgb);
  s.rgb = {};
  d.alpha = std::move(s.alpha);
  d.meta = std::move(s.meta);
  return d;
}

// Sequential streaming, and a truncated or corrupt file is an error (libvips would otherwise
// return the part it could read).
vips::VOption* load_options() {
  return vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL)->set("fail_on", VIPS_FAIL_ON_ERROR);
}

// libvips' message, or a plain one where a loader failed without saying why.
std::string reason(const vips::VError& e) {
  std::string m = e.what();
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.pop_back();
  return m.empty() ? "corrupt or truncated image data" : m;
}

// The engine's RGB as the image to write (output.h). The returned image points at `px` (the
// quantized colour) and at alpha's values, so both must outlive it.
struct Pixels {
  std::vector<uint8_t> u8;
  std::vector<uint16_t> u16;
};
vips::VImage to_vips(const Image& rgb, const Alpha& alpha, const Metadata& meta, Format format, Pixels& px) {
  const detail::OutputLayout l = detail::output_layout(meta, format);
  const size_t n = static_cast<size_t>(rgb.width) * rgb.height;
  if (rgb.rgb.size() != n * 3) throw Error("image has an unexpected layout");
  const size_t samples = n * l.bands();
  void* mem = nullptr;
  if (l.deep) {
    px.u16.resize(samples);
    mem = px.u16.data();
  } else {
    px.u8.resize(samples);
    mem = px.u8.data();
  }
  detail::quantize_pixels(rgb.rgb.data(), n, l, mem);
  return detail::dress_output(
      vips::VImage::new_from_memory(mem, samples * l.sample_bytes(), rgb.width, rgb.height, l.bands(), l.format()),
      alpha, meta);
}

}  // namespace

namespace detail {

vips::VImage dress_output(vips::VImage out, const Alpha& alpha, const Metadata& meta) {
  const bool deep = out.format() == VIPS_FORMAT_USHORT;
  const VipsBandFormat fmt = out.format();
  const bool one_band = out.bands() == 1;
  const int bands = out.bands();
  const int width = out.width(), height = out.height();
  if (!alpha.empty()) {
    // Upscaled bicubically in float with pixel centres aligned (output pixel centre x + 0.5 =
    // scale * (input x + 0.5), as the models' bicubic degradation), edges extended; then rounded
    // like the colour. libvips' resize would shift the result by half an output pixel.
    vips::VImage a =
        vips::VImage::new_from_memory(const_cast<float*>(alpha.values.data()), alpha.values.size() * sizeof(float),
                                      alpha.width, alpha.height, 1, VIPS_FORMAT_FLOAT);
    const double sx = static_cast<double>(width) / alpha.width, sy = static_cast<double>(height) / alpha.height;
    a = a.affine({sx, 0, 0, sy}, vips::VImage::option()
                                     ->set("interpolate", vips::VInterpolate::new_from_name("bicubic"))
                                     ->set("idx", 0.5)
                                     ->set("idy", 0.5)
                                     ->set("odx", -0.5)
                                     ->set("ody", -0.5)
                                     ->set("oarea", std::vector<int>{0, 0, width, height})
                                     ->set("extend", VIPS_EXTEND_COPY));
    a = a.linear(deep ? 65535.0 : 255.0, 0.5).floor().cast(fmt);  // cast clips to the format's range
    out = out.bandjoin(a);
  }
  const VipsInterpretation interp = one_band ? (deep ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W)
                                             : (deep ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB);
  out = out.copy(vips::VImage::option()->set("interpretation", interp));
  if (profile_fits(meta.icc, bands))
    vips_image_set_blob_copy(out.get_image(), VIPS_META_ICC_NAME, meta.icc.data(), meta.icc.size());
  // The pixels are already upright: savers write orientation 1 into the EXIF block (only an input
  // with EXIF gets one: libvips would otherwise make a block just to hold the tag).
  if (!meta.exif.empty()) {
    vips_image_set_blob_copy(out.get_image(), VIPS_META_EXIF_NAME, meta.exif.data(), meta.exif.size());
    out.set(VIPS_META_ORIENTATION, 1);
  }
  if (!meta.xmp.empty())
    vips_image_set_blob_copy(out.get_image(), VIPS_META_XMP_NAME, meta.xmp.data(), meta.xmp.size());
  return out;
}

}  // namespace detail

DecodedSamples decode_file_samples(const std::string& path, const Limits& limits) {
  try {
    return decode(vips::VImage::new_from_file(path.c_str(), load_options()), path, limits);
  } catch (const vips::VError& e) {
    throw Error(path + ": cannot decode image: " + reason(e));
  }
}

Decoded decode_file(const std::string& path, const Limits& limits) {
  return to_floats(decode_file_samples(path, limits));
}

namespace {
// The gate of every decode from the network (buffer or descriptor): only the four formats the
// service documents. libvips would otherwise hand unknown bytes to every loader it has
// (ImageMagick's included), a much larger attack surface. `loader` is what libvips' sniffing
// found: a class name ("VipsForeignLoadPngBuffer") or a nickname ("pngload_source"), or null.
void check_loader(const char* loader, const std::string& what) {
  if (!loader) {
    vips_error_clear();
    throw Error(what + ": not a recognised image (PNG, JPEG, WebP or TIFF)");
  }
  std::string name(loader);
  for (const char* cut : {"VipsForeignLoad", "Buffer", "Source", "load_buffer", "load_source"})
    if (const auto at = name.find(cut); at != std::string::npos) name.erase(at, std::string(cut).size());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name != "png" && name != "jpeg" && name != "webp" && name != "tiff")
    throw Error(what + ": image format '" + name + "' is not accepted (PNG, JPEG, WebP or TIFF)");
}

void check_accepted_format(const void* data, size_t size, const std::string& what) {
  if (size == 0) throw Error(what + ": image is empty (0 bytes)");
  check_loader(vips_foreign_find_load_buffer(data, size), what);
}

Header header_of(const vips::VImage& im, const std::string& what, const Limits& limits) {
  check_limits(im, what, limits);
  Header h;
  h.width = im.width();
  h.height = im.height();
  h.bands = im.bands();
  h.bytes_per_sample = static_cast<int>(vips_format_sizeof(im.format()));
  h.has_alpha = im.has_alpha();
  h.rotated = im.get_typeof(VIPS_META_ORIENTATION) != 0 && im.get_int(VIPS_META_ORIENTATION) != 1;
  return h;
}

// A source reading `fd` from its start, its format checked. libvips dup()s the descriptor, and
// the copy shares the file offset, hence the rewind: a probe and then a decode of one file each
// read it whole, one after the other (never at once).
vips::VSource checked_source(int fd, const std::string& what) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw Error(what + ": cannot read the upload: " + std::strerror(errno));
  if (st.st_size == 0) throw Error(what + ": image is empty (0 bytes)");
  if (lseek(fd, 0, SEEK_SET) != 0) throw Error(what + ": cannot read the upload: " + std::strerror(errno));
  vips::VSource src = vips::VSource::new_from_descriptor(fd);
  check_loader(vips_foreign_find_load_source(src.get_source()), what);
  // Sniffing read the first bytes; the loader starts again from the first one.
  if (vips_source_rewind(src.get_source()) != 0) throw vips::VError();
  return src;
}
}  // namespace

Header probe_buffer(const void* data, size_t size, const std::string& what, const Limits& limits) {
  check_accepted_format(data, size, what);
  try {
    // new_from_buffer parses the header only; pixels are decoded when first read.
    return header_of(vips::VImage::new_from_buffer(data, size, "", load_options()), what, limits);
  } catch (const vips::VError& e) {
    throw Error(what + ": cannot decode image: " + std::string(e.what()));
  }
}

Header probe_descriptor(int fd, const std::string& what, const Limits& limits) {
  try {
    return header_of(vips::VImage::new_from_source(checked_source(fd, what), "", load_options()), what, limits);
  } catch (const vips::VError& e) {
    throw Error(what + ": cannot decode image: " + std::string(e.what()));
  }
}

DecodedSamples decode_descriptor_samples(int fd, const std::string& what, const Limits& limits) {
  try {
    return decode(vips::VImage::new_from_source(checked_source(fd, what), "", load_options()), what, limits);
  } catch (const vips::VError& e) {
    throw Error(what + ": cannot decode image: " + reason(e));
  }
}

DecodedSamples decode_buffer_samples(const void* data, size_t size, const std::string& what, const Limits& limits) {
  check_accepted_format(data, size, what);
  try {
    return decode(vips::VImage::new_from_buffer(data, size, "", load_options()), what, limits);
  } catch (const vips::VError& e) {
    throw Error(what + ": cannot decode image: " + reason(e));
  }
}

Decoded decode_buffer(const void* data, size_t size, const std::string& what, const Limits& limits) {
  return to_floats(decode_buffer_samples(data, size, what, limits));
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

std::vector<uint8_t> encode_buffer(const Image& rgb, const Alpha& alpha, const Metadata& meta,
                                   const EncodeOptions& options) {
  const std::string suffix = std::string(".") + extension(options.format);
  Pixels px;
  try {
    vips::VImage out = to_vips(rgb, alpha, meta, options.format, px);
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

void encode_file(const Image& rgb, const Alpha& alpha, const Metadata& meta, const std::string& path,
                 const EncodeOptions& options) {
  const std::vector<uint8_t> bytes = encode_buffer(rgb, alpha, meta, options);
  std::ofstream f(path, std::ios::binary);
  if (!f || !f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw Error(path + ": cannot write image");
}

}  // namespace scales::imageio
