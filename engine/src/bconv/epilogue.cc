#include "bconv/epilogue.h"

#include <algorithm>
#include <cmath>

namespace scales::bconv {

namespace {
float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// The row functions run once per pixel per layer, so they are built for several ISAs from this
// one source (GCC picks the clone at load time). The results do not depend on the clone: the
// build uses ISO C++ (no FMA contraction) and every reduction has a fixed order below.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SCALES_ROW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SCALES_ROW_CLONES
#endif

// sum_c w[c] * x[c] as 16 interleaved partial sums folded pairwise: vectorizable, and the same
// order whatever the vector width.
inline float dot16(const float* w, const float* x, int n) {
  float acc[16] = {};
  int c = 0;
  for (; c + 16 <= n; c += 16)
    for (int l = 0; l < 16; ++l) acc[l] += w[c + l] * x[c + l];
  for (int l = 0; c < n; ++c, ++l) acc[l] += w[c] * x[c];
  for (int half = 8; half >= 1; half /= 2)
    for (int l = 0; l < half; ++l) acc[l] += acc[l + half];
  return acc[0];
}
}  // namespace

std::vector<float> channel_factors(const ScalesParams& p, const std::vector<double>& sums, double pixels) {
  const int out = static_cast<int>(p.weight_scale.size()), in = static_cast<int>(sums.size());
  std::vector<float> c(out, 1.0f);
  if (p.fc1_w.empty()) return c;
  std::vector<float> m(in), h(p.hidden);
  for (int i = 0; i < in; ++i) m[i] = static_cast<float>(sums[i] / pixels);
  for (int j = 0; j < p.hidden; ++j) {
    float a = p.fc1_b[j];
    for (int i = 0; i < in; ++i) a += p.fc1_w[static_cast<size_t>(j) * in + i] * m[i];
    h[j] = a > 0.0f ? a : 0.0f;
  }
  for (int o = 0; o < out; ++o) {
    float a = p.fc2_b[o];
    for (int j = 0; j < p.hidden; ++j) a += p.fc2_w[static_cast<size_t>(o) * p.hidden + j] * h[j];
    c[o] = sigmoid(a);
  }
  return c;
}

std::vector<float> scale_factors(const ScalesParams& p) {
  std::vector<float> gk(p.weight_scale.size());
  for (size_t o = 0; o < gk.size(); ++o) gk[o] = p.has_alpha ? p.alpha * p.weight_scale[o] : p.weight_scale[o];
  return gk;
}

SCALES_ROW_CLONES void epilogue_row(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
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

SCALES_ROW_CLONES void spatial_factors(const float* w, float b, const float* x, int width, int channels, float* s) {
  for (int p = 0; p < width; ++p) s[p] = sigmoid(dot16(w, x + static_cast<size_t>(p) * channels, channels) + b);
}

SCALES_ROW_CLONES void prepare_row(const ScalesParams& next, const float* x_row, int width, int channels,
                                   uint64_t* packed_row, float* s_row, double* sums) {
  const int words = (channels + 63) / 64;
  const float* shift = next.shift.empty() ? nullptr : next.shift.data();
  const bool spatial = !next.spatial_w.empty(), channel = !next.fc1_w.empty();
  for (int p = 0; p < width; ++p) {
    const float* xp = x_row + static_cast<size_t>(p) * channels;
    uint64_t* dst = packed_row + static_cast<size_t>(p) * words;
    for (int w = 0; w < words; ++w) {
      const int c0 = w * 64, c1 = std::min(channels, c0 + 64);
      uint64_t word = 0;
      if (shift)
        for (int c = c0; c < c1; ++c) word |= static_cast<uint64_t>(xp[c] + shift[c] < 0.0f) << (c - c0);
      else
        for (int c = c0; c < c1; ++c) word |= static_cast<uint64_t>(xp[c] < 0.0f) << (c - c0);
      dst[w] = word;
    }
    if (spatial) {
      s_row[p] = sigmoid(dot16(next.spatial_w.data(), xp, channels) + next.spatial_b);
    }
    if (channel)
      for (int ch = 0; ch < channels; ++ch) sums[ch] += xp[ch];
  }
}

}  // namespace scales::bconv
