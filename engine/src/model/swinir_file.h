// A SCALES-SwinIR model file (docs/model-format.md, "SCALES-SwinIR") turned into owned,
// validated weights. The shared rules (header, format, dtypes) are in model_file.cc.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "blinear/params.h"
#include "model/model_file.h"

namespace scales::model {

// One linear layer I -> O: binary (SCALES) or FP (the twin); metadata linear_residual =
// same_width leaves res(x) out where O != I.
using Linear = blinear::LinearParams;

struct SwinLayer {
  std::vector<float> norm1_w, norm1_b, norm2_w, norm2_b;  // (C)
  std::vector<float> position_bias;                       // (heads, N, N), N = window^2
  Linear qkv, proj, fc1, fc2;
  int shift = 0;  // 0 or window / 2
};

struct SwinGroup {
  std::vector<SwinLayer> layers;
  ResConv conv;  // binary residual conv, or (FP twin) a plain conv in conv.fp without residual
};

struct SwinirWeights {
  ModelInfo info;  // blocks = groups * depth (informational)
  int groups = 0, depth = 0, heads = 0, window = 0, mlp_ratio = 0;
  float rgb_mean[3] = {0, 0, 0};
  FpConv conv_first, conv_after_body, up;
  std::vector<float> embed_norm_w, embed_norm_b, norm_w, norm_b;
  std::vector<SwinGroup> body;
};

SwinirWeights read_swinir_file(std::span<const uint8_t> bytes, const std::string& what);

// The `architecture` metadata of a model file (after the header checks), to pick the reader.
std::string model_architecture(std::span<const uint8_t> bytes, const std::string& what);

}  // namespace scales::model
