// A linear layer's parameters as the kernels read them (SCALES-SwinIR's qkv, proj, fc1, fc2); the
// model reader (model/swinir_file.h) fills them.
//
//   binary: z = res(x) + ybin * ((alpha * k[o]) * s[token]) * c[o]     the SCALES parameters,
//           weight_bits (O, ceil(I / 64)); without res(x) when `residual` is false
//   FP:     z = x W^T + b                                               the FP twin
#pragma once

#include <vector>

#include "bconv/params.h"

namespace scales::blinear {

struct LinearParams : bconv::ScalesParams {
  int in = 0, out = 0;
  bool binary = true;
  bool residual = true;
  std::vector<float> weight, bias;  // FP: (O, I), (O)
};

}  // namespace scales::blinear
