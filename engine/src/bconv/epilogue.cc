#include "bconv/epilogue.h"

#include <algorithm>
#include <cmath>

namespace scales::bconv {

namespace {
float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
}  // namespace

std::vector<float> channel_factors(const model::ResConv& rc, const std::vector<double>& sums, int pixels) {
  const int channels = static_cast<int>(rc.weight_scale.size());
  std::vector<float> c(channels, 1.0f);
  if (rc.fc1_w.empty()) return c;
  std::vector<float> m(channels), h(rc.hidden);
  for (int ch = 0; ch < channels; ++ch) m[ch] = static_cast<float>(sums[ch] / pixels);
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

std::vector<float> scale_factors(const model::ResConv& rc) {
  std::vector<float> gk(rc.weight_scale.size());
  for (size_t o = 0; o < gk.size(); ++o) gk[o] = rc.has_alpha ? rc.alpha * rc.weight_scale[o] : rc.weight_scale[o];
  return gk;
}

void epilogue_row(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                  const float* prelu_slope, int width, int channels, float* x_row) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    float* zp = x_row + static_cast<size_t>(p) * channels;
    const float s = s_row ? s_row[p] : 1.0f;
    for (int o = 0; o < channels; ++o) {
      float g = gk[o];
      if (s_row) g = g * s;
      if (cfac) g = g * cfac[o];
      zp[o] = zp[o] + static_cast<float>(yp[o]) * g;
    }
    if (prelu_slope)
      for (int o = 0; o < channels; ++o)
        if (zp[o] < 0.0f) zp[o] = prelu_slope[o] * zp[o];
  }
}

void prepare_row(const model::ResConv& next, const float* x_row, int width, int channels, uint64_t* packed_row,
                 float* s_row, double* sums) {
  const int words = (channels + 63) / 64;
  const float* shift = next.shift.empty() ? nullptr : next.shift.data();
  const bool spatial = !next.spatial_w.empty(), channel = !next.fc1_w.empty();
  for (int p = 0; p < width; ++p) {
    const float* xp = x_row + static_cast<size_t>(p) * channels;
    uint64_t* dst = packed_row + static_cast<size_t>(p) * words;
    for (int w = 0; w < words; ++w) {
      const int c0 = w * 64, c1 = std::min(channels, c0 + 64);
      uint64_t word = 0;
      for (int c = c0; c < c1; ++c) {
        const float u = shift ? xp[c] + shift[c] : xp[c];
        word |= static_cast<uint64_t>(u < 0.0f) << (c - c0);
      }
      dst[w] = word;
    }
    if (spatial) {
      float a = 0.0f;
      for (int ch = 0; ch < channels; ++ch) a += next.spatial_w[ch] * xp[ch];
      s_row[p] = sigmoid(a + next.spatial_b);
    }
    if (channel)
      for (int ch = 0; ch < channels; ++ch) sums[ch] += xp[ch];
  }
}

}  // namespace scales::bconv
