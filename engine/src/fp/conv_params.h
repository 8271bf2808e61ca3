// An FP 3x3 conv's parameters as fp::Conv3x3 reads them; the model readers (model/) fill them.
#pragma once

#include <vector>

namespace scales::fp {

struct ConvParams {
  int out = 0, in = 0;
  std::vector<float> weight, bias;  // (O, I, 3, 3), (O)
};

}  // namespace scales::fp
