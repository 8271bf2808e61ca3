// The vocabulary shared by every part (engine, imageio, client, server): an image, an error, what
// a model is. Its own CMake target, scales::types (header only), so that parts that need only
// these, such as imageio and the remote client, do not link the engine.
#pragma once

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

}  // namespace scales
