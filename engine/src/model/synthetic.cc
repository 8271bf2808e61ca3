#include "model/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace scales::model {

namespace {

struct Gen {
  std::mt19937 rng;
  std::vector<float> normal(size_t n, float sd, float mean = 0.0f) {
    std::normal_distribution<float> d(mean, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
  }
  FpConv conv(int out, int in) {  // He-style init so activations keep their scale
    FpConv c;
    c.out = out;
    c.in = in;
    c.weight = normal(static_cast<size_t>(out) * in * 9, std::sqrt(1.0f / (9.0f * in)));
    c.bias = normal(out, 0.01f);
    return c;
  }
};

ResConv res_conv(Gen& g, const SyntheticSpec& s) {
  const int c = s.channels, words = (c + 63) / 64;
  ResConv rc;
  rc.binary = s.binary;
  if (!s.binary) {
    rc.fp = g.conv(c, c);
    return rc;
  }
  rc.weight_bits.assign(static_cast<size_t>(c) * 9 * words, 0);
  for (int o = 0; o < c; ++o)
    for (int t = 0; t < 9; ++t)
      for (int i = 0; i < c; ++i)
        if (g.rng() & 1) rc.weight_bits[(static_cast<size_t>(o) * 9 + t) * words + i / 64] |= uint64_t{1} << (i % 64);
  rc.weight_scale = g.normal(c, 0.002f, 0.01f);
  if (s.components.count("shift")) rc.shift = g.normal(c, 0.05f);
  if (s.components.count("layer_scale")) {
    rc.has_alpha = true;
    rc.alpha = 1.5f;
  }
  if (s.components.count("spatial")) {
    rc.spatial_w = g.normal(c, 0.2f);
    rc.spatial_b = 0.1f;
  }
  if (s.components.count("channel")) {
    rc.hidden = std::max(4, c / 8);
    rc.fc1_w = g.normal(static_cast<size_t>(rc.hidden) * c, 0.3f);
    rc.fc1_b = g.normal(rc.hidden, 0.1f);
    rc.fc2_w = g.normal(static_cast<size_t>(c) * rc.hidden, 0.3f);
    rc.fc2_b = g.normal(c, 0.1f);
  }
  return rc;
}

}  // namespace

EdsrWeights synthetic_edsr(const SyntheticSpec& s) {
  Gen g{std::mt19937(s.seed)};
  EdsrWeights w;
  w.info.architecture = "scales-edsr";
  w.info.variant = s.binary ? "synthetic" : "fp";
  w.info.scale = s.scale;
  w.info.blocks = s.blocks;
  w.info.channels = s.channels;
  w.info.binary = s.binary;
  w.words = (s.channels + 63) / 64;
  w.rgb_mean[0] = 0.45f;
  w.rgb_mean[1] = 0.44f;
  w.rgb_mean[2] = 0.40f;
  w.head = g.conv(s.channels, 3);
  for (int i = 0; i < s.blocks; ++i) {
    Block b;
    b.conv1 = res_conv(g, s);
    b.act = std::vector<float>(s.channels, 0.25f);
    b.conv2 = res_conv(g, s);
    w.blocks.push_back(std::move(b));
  }
  w.body_end = res_conv(g, s);
  w.up_factor = s.scale == 4 ? std::vector<int>{2, 2} : std::vector<int>{s.scale};
  for (int f : w.up_factor) w.up.push_back(g.conv(f * f * s.channels, s.channels));
  w.tail = g.conv(3, s.channels);
  auto record = [&](FpConv& c, fp::Precision p) {
    c.precision = p;
    if (p == fp::Precision::int8) c.input_absmax.assign(c.in, 4.0f);
  };
  for (auto& u : w.up) record(u, s.up_precision);
  record(w.tail, s.tail_precision);
  return w;
}

}  // namespace scales::model
