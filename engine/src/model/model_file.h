// A SCALES-EDSR model file (docs/model-format.md) turned into owned, validated weights.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "scales/engine.h"

namespace scales::model {

struct FpConv {  // conv3x3 (or the FP twin's residual conv): weight (O, I, 3, 3), bias (O)
  int out = 0, in = 0;
  std::vector<float> weight, bias;
};

// One residual conv: z = x + ybin * g (binary) or z = x + conv3x3(x) (FP twin).
struct ResConv {
  bool binary = true;
  // binary
  std::vector<uint64_t> weight_bits;  // (C_out, 3, 3, words), bit 1 = -1, lsb = lowest channel
  std::vector<float> weight_scale;    // k (C_out)
  std::vector<float> shift;           // (C_in) or empty
  float alpha = 1.0f;
  bool has_alpha = false;
  std::vector<float> spatial_w;       // (C_in) or empty
  float spatial_b = 0.0f;
  std::vector<float> fc1_w, fc1_b, fc2_w, fc2_b;  // (H, C_in), (H), (C_out, H), (C_out) or empty
  int hidden = 0;
  // FP twin
  FpConv fp;
};

struct Block {
  ResConv conv1;
  std::vector<float> act;  // PReLU slopes (C)
  ResConv conv2;
};

struct EdsrWeights {
  ModelInfo info;
  int words = 0;  // ceil(C / 64)
  float rgb_mean[3] = {0, 0, 0};
  FpConv head;
  std::vector<Block> blocks;
  ResConv body_end;
  std::vector<FpConv> up;   // conv C -> r*r*C before each pixel shuffle
  std::vector<int> up_factor;
  FpConv tail;
};

EdsrWeights read_model_file(std::span<const uint8_t> bytes, const std::string& what);

}  // namespace scales::model
