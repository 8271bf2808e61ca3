// A SCALES-EDSR model file (docs/model-format.md) turned into owned, validated weights.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bconv/params.h"
#include "fp/conv_params.h"
#include "scales/engine.h"

namespace scales::model {

using FpConv = fp::ConvParams;  // conv3x3 (or the FP twin's residual conv)

// One residual conv: z = x + ybin * g (binary: the SCALES parameters, weight_bits (C_out, 3, 3,
// words)) or z = x + conv3x3(x) (FP twin: fp).
struct ResConv : bconv::ScalesParams {
  bool binary = true;
  FpConv fp;  // FP twin
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
  std::vector<FpConv> up;  // conv C -> r*r*C before each pixel shuffle
  std::vector<int> up_factor;
  FpConv tail;
};

EdsrWeights read_model_file(std::span<const uint8_t> bytes, const std::string& what);

}  // namespace scales::model
