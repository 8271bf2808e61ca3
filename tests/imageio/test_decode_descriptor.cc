// Decoding a spooled upload from its file descriptor gives exactly what decoding the same bytes
// from memory gives, behind the same format gate, and a probe followed by a decode on one
// descriptor each read the file from its start.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <vips/vips8>

#include "scales/imageio.h"

namespace scales::imageio {
namespace {

// An unnamed temporary file holding `bytes`, closed when the test's scope ends.
struct TempFile {
  explicit TempFile(const std::string& bytes) {
    f = std::tmpfile();
    if (!f) throw std::runtime_error("tmpfile failed");
    if (!bytes.empty()) EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fflush(f);
    // Leave the offset at the end, as the server's spool does after its last write.
  }
  ~TempFile() { std::fclose(f); }
  int fd() const { return fileno(f); }
  FILE* f;
};

std::string encoded(Format format, bool alpha, int w = 67, int h = 45) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Image im;
  im.width = w;
  im.height = h;
  im.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (auto& v : im.rgb) v = u(rng);
  Alpha a;
  if (alpha) {
    a.width = w;
    a.height = h;
    a.values.resize(static_cast<size_t>(w) * h);
    for (auto& v : a.values) v = u(rng);
  }
  Metadata meta;
  meta.xmp = "<x:xmpmeta xmlns:x='adobe:ns:meta/'></x:xmpmeta>";
  const auto v = encode_buffer(im, a, meta, encode_options(format, 90));
  return std::string(v.begin(), v.end());
}

void expect_same(const DecodedSamples& a, const DecodedSamples& b) {
  EXPECT_EQ(a.rgb.width, b.rgb.width);
  EXPECT_EQ(a.rgb.height, b.rgb.height);
  EXPECT_EQ(a.rgb.bits, b.rgb.bits);
  EXPECT_EQ(a.rgb.u8, b.rgb.u8);
  EXPECT_EQ(a.rgb.u16, b.rgb.u16);
  EXPECT_EQ(a.alpha.values, b.alpha.values);
  EXPECT_EQ(a.meta.gray, b.meta.gray);
  EXPECT_EQ(a.meta.icc, b.meta.icc);
  EXPECT_EQ(a.meta.xmp, b.meta.xmp);
}

TEST(DecodeDescriptor, EqualsTheBufferDecodeForEveryAcceptedFormat) {
  for (Format f : {Format::png, Format::jpeg, Format::webp, Format::tiff}) {
    for (bool alpha : {false, true}) {
      if (f == Format::jpeg && alpha) continue;  // JPEG has no alpha
      SCOPED_TRACE(std::string(extension(f)) + (alpha ? " with alpha" : ""));
      const std::string bytes = encoded(f, alpha);
      TempFile file(bytes);
      const Header hb = probe_buffer(bytes.data(), bytes.size(), "image");
      const Header hd = probe_descriptor(file.fd(), "image");
      EXPECT_EQ(hd.width, hb.width);
      EXPECT_EQ(hd.height, hb.height);
      EXPECT_EQ(hd.bands, hb.bands);
      EXPECT_EQ(hd.has_alpha, hb.has_alpha);
      // The probe moved the shared offset; the decode still reads the whole image.
      expect_same(decode_descriptor_samples(file.fd(), "image"),
                  decode_buffer_samples(bytes.data(), bytes.size(), "image"));
    }
  }
}

TEST(DecodeDescriptor, RefusesWhatTheBufferDecodeRefuses) {
  // A PPM: libvips loads it from a file, but it is not one of the service's four formats.
  std::string ppm = "P6\n2 2\n255\n";
  ppm.append(12, '\x80');
  TempFile p(ppm);
  try {
    decode_descriptor_samples(p.fd(), "upload");
    FAIL() << "a PPM was decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("upload: image format 'ppm' is not accepted"), std::string::npos) << e.what();
  }
  TempFile empty("");
  EXPECT_THROW(probe_descriptor(empty.fd(), "upload"), Error);
  TempFile junk(std::string(1000, 'x'));
  EXPECT_THROW(probe_descriptor(junk.fd(), "upload"), Error);
  // A truncated PNG: the header probes, the pixels fail to decode (an error, not a partial image).
  std::string png = encoded(Format::png, false, 300, 200);
  png.resize(png.size() / 2);
  TempFile cut(png);
  EXPECT_EQ(probe_descriptor(cut.fd(), "upload").width, 300);
  EXPECT_THROW(decode_descriptor_samples(cut.fd(), "upload"), Error);
}

TEST(DecodeDescriptor, ChecksTheLimitsOnTheHeader) {
  const std::string bytes = encoded(Format::png, false, 300, 200);
  TempFile file(bytes);
  Limits l;
  l.max_pixels = 300 * 199;
  EXPECT_THROW(probe_descriptor(file.fd(), "image", l), LimitError);
  EXPECT_THROW(decode_descriptor_samples(file.fd(), "image", l), LimitError);
}

}  // namespace
}  // namespace scales::imageio
// main (libvips started once): test_row_encoder.cc.
