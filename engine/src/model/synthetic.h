// Random SCALES-EDSR weights of any shape, for tests (kernel and tiling parity on shapes the
// released models do not have) and for timing paper-size networks (scales-bench). Never served.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "model/model_file.h"

namespace scales::model {

struct SyntheticSpec {
  int scale = 2, blocks = 2, channels = 32;
  bool binary = true;
  std::set<std::string> components = {"shift", "layer_scale", "spatial", "channel"};
  uint32_t seed = 0;
  // The precision recorded for the upsampler convs and the tail (scales-bench times the FP layers'
  // cheaper forms with them). The int8 input ranges are a fixed 4.0 per channel: right for speed,
  // meaningless for quality (random weights have no quality to keep).
  fp::Precision up_precision = fp::Precision::fp32, tail_precision = fp::Precision::fp32;
};

EdsrWeights synthetic_edsr(const SyntheticSpec& spec);

}  // namespace scales::model
