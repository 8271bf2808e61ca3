// An FP 3x3 conv's parameters as fp::Conv3x3 reads them; the model readers (model/) fill them.
#pragma once

#include <string>
#include <vector>

namespace scales::fp {

// The arithmetic a conv may run in. The model file records, per layer, the cheapest one whose
// measured quality loss passed the gate at export (docs/model-format.md); fp32 is the reference and
// always available. int8 needs the calibrated per-input-channel ranges (ConvParams::input_absmax).
enum class Precision { fp32, bf16, int8 };

std::string to_string(Precision p);
bool parse_precision(const std::string& s, Precision& out);  // "fp32", "bf16", "int8"

struct ConvParams {
  int out = 0, in = 0;
  std::vector<float> weight, bias;  // (O, I, 3, 3), (O)
  Precision precision = Precision::fp32;
  std::vector<float> input_absmax;  // (I): int8 only, the calibrated |input| range per channel
};

}  // namespace scales::fp
