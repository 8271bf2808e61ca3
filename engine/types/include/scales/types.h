// The vocabulary shared by every part (engine, imageio, client, server): an image, an error, what
// a model is. Its own CMake target, scales::types (header only), so that parts that need only
// these, such as imageio and the remote client, do not link the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace scales {

// Every failure the project reports (malformed model file, bad image size, unknown kernel, ...).
// The message names what is wrong.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ModelInfo {
  std::string architecture;  // "scales-edsr" or "scales-swinir"
  std::string variant;       // "scales", "plain", "plain+shift", "fp", ...
  int scale = 0;
  int blocks = 0;  // EDSR: residual blocks; SwinIR: groups x layers per group
  int channels = 0;
  bool binary = true;
  // Size and cost, counted from the loaded weights: binary weights (bits) and FP parameters;
  // multiply-accumulates per input (LR) pixel, binary (XOR + popcount) and FP.
  int64_t binary_params = 0, fp_params = 0;
  double binary_macs_per_pixel = 0, fp_macs_per_pixel = 0;
  // The FP convs' recorded precisions (metadata fp_precision, "up.0=int8,tail=bf16"); empty: all
  // fp32. What runs also depends on the CPU (fp/conv3x3.h).
  std::string fp_precision;
};

// An RGB image, interleaved (HWC), float in [0, 1]. Output images are not clamped.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<float> rgb;  // height * width * 3
};

// An RGB image as the decoder's integer samples (HWC, 8 or 16 bits): a quarter (8-bit) or half
// (16-bit) of the memory of the same Image in floats. A tile job can hold its input this way and
// convert each tile's window as it reads it (v / 255 or v / 65535, the same floats as an Image
// decoded whole), which is what lets a very large image fit in memory.
struct SampleImage {
  int width = 0;
  int height = 0;
  int bits = 8;               // 8: u8 holds the samples; 16: u16 does
  std::vector<uint8_t> u8;    // height * width * 3 (bits 8)
  std::vector<uint16_t> u16;  // height * width * 3 (bits 16)
  size_t samples() const { return bits == 16 ? u16.size() : u8.size(); }
};
// Rows [y0, y1) and columns [x0, x1) of a SampleImage as floats in [0, 1], into `out`
// ((y1 - y0) * (x1 - x0) * 3 floats).
inline void samples_to_floats(const SampleImage& s, int x0, int y0, int x1, int y1, float* out) {
  const size_t n = static_cast<size_t>(x1 - x0) * 3;
  for (int y = y0; y < y1; ++y, out += n) {
    const size_t at = (static_cast<size_t>(y) * s.width + x0) * 3;
    if (s.bits == 16)
      for (size_t i = 0; i < n; ++i) out[i] = s.u16[at + i] / 65535.0f;
    else
      for (size_t i = 0; i < n; ++i) out[i] = s.u8[at + i] / 255.0f;
  }
}
// The whole image as floats.
inline Image to_image(const SampleImage& s) {
  Image im;
  im.width = s.width;
  im.height = s.height;
  im.rgb.resize(static_cast<size_t>(s.width) * s.height * 3);
  samples_to_floats(s, 0, 0, s.width, s.height, im.rgb.data());
  return im;
}

}  // namespace scales
