// int8 form of an FP conv, computed once when a model loads (the engine's half of the calibration
// that scales_train.calibrate does at export).
//
// Activations are quantized per input channel: x_q[c] = round(x[c] * 127 / absmax[c]), saturated.
// oneDNN takes only one source scale per tensor, so the channel scale is folded into the weights
// instead (w'[o, c] = w[o, c] * absmax[c] / 127), which then take one scale per output channel:
//     y[o] = weight_scale[o] * sum_c,k x_q[c] * w_q[o, c, k] + bias[o]
// Per-channel activation ranges matter: SR features differ in range by 10x between channels, and one
// scale per tensor cost 0.08 dB on scales-edsr-x2's Set5 where per-channel cost 0.02 (emulated).
#pragma once

#include <cstdint>
#include <vector>

#include "fp/conv_params.h"

namespace scales::fp {

struct Int8Conv {
  std::vector<float> input_scale;   // (I): 127 / absmax, multiplies x before rounding
  std::vector<int8_t> weight;       // (O, I, 3, 3) in [-127, 127]
  std::vector<float> weight_scale;  // (O)
  // (O): bias / weight_scale. oneDNN 2.x adds an int8 conv's bias before the output scale
  // (dst = scale * (acc + bias)), so it gets the bias in accumulator units.
  std::vector<float> bias_in_acc_units;
};

Int8Conv quantize_conv(const ConvParams& p);

// The reference of the int8 conv above in plain loops (tests): NHWC src (h, w, I) -> dst (h, w, O).
void int8_conv_reference(const Int8Conv& q, const ConvParams& p, const float* src, int h, int w, float* dst);

}  // namespace scales::fp
