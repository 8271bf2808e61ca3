// FP 3x3 convolution (stride 1, zero padding 1) through oneDNN, on HWC float maps.
#pragma once

#include "model/model_file.h"

namespace scales::fp {

// src: height x width x c.in, dst: height x width x c.out (HWC), dst = conv(src, c.weight) + c.bias.
void conv3x3(const float* src, int height, int width, const model::FpConv& c, float* dst);

}  // namespace scales::fp
