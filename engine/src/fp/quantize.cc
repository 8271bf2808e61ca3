#include "fp/quantize.h"

#include <algorithm>
#include <cmath>

namespace scales::fp {

std::string to_string(Precision p) {
  switch (p) {
    case Precision::bf16: return "bf16";
    case Precision::int8: return "int8";
    default: return "fp32";
  }
}

bool parse_precision(const std::string& s, Precision& out) {
  for (Precision p : {Precision::fp32, Precision::bf16, Precision::int8})
    if (s == to_string(p)) {
      out = p;
      return true;
    }
  return false;
}

namespace {
// A channel that never left zero in calibration still gets a finite scale.
float safe_range(float absmax) { return std::max(absmax, 1e-6f); }

// NaN (a model file's weights are not checked for it) becomes 0: the cast of NaN is undefined.
int8_t round_sat(float v) {
  if (std::isnan(v)) return 0;
  return static_cast<int8_t>(std::clamp(std::nearbyint(v), -127.f, 127.f));
}
}  // namespace

Int8Conv quantize_conv(const ConvParams& p) {
  Int8Conv q;
  const size_t per_out = static_cast<size_t>(p.in) * 9;
  q.input_scale.resize(p.in);
  for (int c = 0; c < p.in; ++c) q.input_scale[c] = 127.f / safe_range(p.input_absmax[c]);
  std::vector<float> folded(p.weight.size());
  for (size_t i = 0; i < folded.size(); ++i) folded[i] = p.weight[i] / q.input_scale[(i / 9) % p.in];
  q.weight.resize(folded.size());
  q.weight_scale.resize(p.out);
  for (int o = 0; o < p.out; ++o) {
    const float* f = folded.data() + o * per_out;
    float m = 0;
    for (size_t i = 0; i < per_out; ++i) m = std::max(m, std::fabs(f[i]));
    const float s = m > 0 ? m / 127.f : 1.f;
    q.weight_scale[o] = s;
    q.bias_in_acc_units.push_back(p.bias[o] / s);
    for (size_t i = 0; i < per_out; ++i) q.weight[o * per_out + i] = round_sat(f[i] / s);
  }
  return q;
}

void int8_conv_reference(const Int8Conv& q, const ConvParams& p, const float* src, int h, int w, float* dst) {
  std::vector<int8_t> xq(static_cast<size_t>(h) * w * p.in);
  for (size_t i = 0; i < xq.size(); ++i) xq[i] = round_sat(src[i] * q.input_scale[i % p.in]);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int o = 0; o < p.out; ++o) {
        int32_t acc = 0;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int yy = y + ky - 1, xx = x + kx - 1;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            const int8_t* a = xq.data() + (static_cast<size_t>(yy) * w + xx) * p.in;
            for (int c = 0; c < p.in; ++c)
              acc += a[c] * q.weight[((static_cast<size_t>(o) * p.in + c) * 3 + ky) * 3 + kx];
          }
        dst[(static_cast<size_t>(y) * w + x) * p.out + o] = q.weight_scale[o] * static_cast<float>(acc) + p.bias[o];
      }
}

}  // namespace scales::fp
