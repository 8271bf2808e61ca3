// Helpers shared by the engine tests: random images and image comparisons.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>

#include "scales/engine.h"

namespace scales::testing {

inline Image random_image(int width, int height, uint32_t seed) {
  // Smooth random content (a few cosines) plus noise: closer to photos than white noise.
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float fx = 0.05f + 0.3f * u(rng), fy = 0.05f + 0.3f * u(rng);
  Image im;
  im.width = width;
  im.height = height;
  im.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        im.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] =
            std::clamp(0.5f + 0.35f * std::cos(fx * x + c) * std::cos(fy * y - c) + 0.1f * (u(rng) - 0.5f), 0.0f, 1.0f);
  return im;
}

struct Diff {
  double max_abs = 0, psnr = 0;
  double changed_8bit = 0;  // fraction of values whose 8-bit rounding differs
};

inline Diff compare(const Image& a, const Image& b) {
  Diff d;
  double se = 0;
  size_t changed = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const double e = std::abs(double(a.rgb[i]) - b.rgb[i]);
    d.max_abs = std::max(d.max_abs, e);
    se += e * e;
    auto q = [](float v) { return std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f); };
    changed += q(a.rgb[i]) != q(b.rgb[i]);
  }
  d.psnr = se == 0 ? INFINITY : 10 * std::log10(1.0 / (se / a.rgb.size()));
  d.changed_8bit = double(changed) / a.rgb.size();
  return d;
}

}  // namespace scales::testing
