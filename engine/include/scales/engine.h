// SCALES-SR engine: the public API. A model, an image in, an image out, errors as exceptions.
//
// Ownership: a Model is immutable once loaded and may be shared by threads; upscale() allocates
// its own working memory per call.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace scales {

// Every failure the engine reports (malformed model file, bad image size, ...). The message names
// what is wrong.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ModelInfo {
  std::string architecture;  // "scales-edsr"
  std::string variant;       // "scales", "plain", "plain+shift", "fp", ...
  int scale = 0;
  int blocks = 0;
  int channels = 0;
  bool binary = true;
};

// An RGB image, interleaved (HWC), float in [0, 1]. Output images are not clamped.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<float> rgb;  // height * width * 3
};

class Model {
 public:
  // Reads and validates a model file (docs/model-format.md); throws Error naming the problem.
  static std::shared_ptr<const Model> load(const std::string& path);
  static std::shared_ptr<const Model> load_from_memory(const std::vector<uint8_t>& bytes,
                                                       const std::string& name = "<memory>");
  virtual ~Model() = default;
  virtual const ModelInfo& info() const = 0;
};

// Upscales a whole image by the model's scale (no tiling yet).
Image upscale(const Model& model, const Image& input);

}  // namespace scales
