#include "bconv/epilogue.h"

#include <cmath>

namespace scales::bconv {

namespace {
float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
}  // namespace

std::vector<float> channel_factors(const model::ResConv& rc, const float* x, int pixels, int channels) {
  std::vector<float> c(channels, 1.0f);
  if (rc.fc1_w.empty()) return c;
  std::vector<double> sum(channels, 0.0);
  for (int p = 0; p < pixels; ++p)
    for (int ch = 0; ch < channels; ++ch) sum[ch] += x[static_cast<size_t>(p) * channels + ch];
  std::vector<float> m(channels), h(rc.hidden);
  for (int ch = 0; ch < channels; ++ch) m[ch] = static_cast<float>(sum[ch] / pixels);
  for (int j = 0; j < rc.hidden; ++j) {
    float a = rc.fc1_b[j];
    for (int ch = 0; ch < channels; ++ch) a += rc.fc1_w[static_cast<size_t>(j) * channels + ch] * m[ch];
    h[j] = a > 0.0f ? a : 0.0f;
  }
  for (int o = 0; o < channels; ++o) {
    float a = rc.fc2_b[o];
    for (int j = 0; j < rc.hidden; ++j) a += rc.fc2_w[static_cast<size_t>(o) * rc.hidden + j] * h[j];
    c[o] = sigmoid(a);
  }
  return c;
}

void apply_epilogue(const model::ResConv& rc, const float* x, const int32_t* ybin, const std::vector<float>& cfac,
                    int pixels, int channels, float* z) {
  std::vector<float> gk(channels);
  for (int o = 0; o < channels; ++o) gk[o] = rc.has_alpha ? rc.alpha * rc.weight_scale[o] : rc.weight_scale[o];
  const bool spatial = !rc.spatial_w.empty(), channel = !rc.fc1_w.empty();
  for (int p = 0; p < pixels; ++p) {
    const float* xp = x + static_cast<size_t>(p) * channels;
    float s = 1.0f;
    if (spatial) {
      float a = 0.0f;
      for (int ch = 0; ch < channels; ++ch) a += rc.spatial_w[ch] * xp[ch];
      s = sigmoid(a + rc.spatial_b);
    }
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    float* zp = z + static_cast<size_t>(p) * channels;
    for (int o = 0; o < channels; ++o) {
      float g = gk[o];
      if (spatial) g = g * s;
      if (channel) g = g * cfac[o];
      zp[o] = xp[o] + static_cast<float>(yp[o]) * g;
    }
  }
}

}  // namespace scales::bconv
