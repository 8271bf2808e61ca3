// The engine's LayerNorm (fp/layer_norm.h): close to the definition in double precision, in place
// as out of place, and each kernel variant's vector form equal to the generic one bit for bit at
// every channel count the tail handling distinguishes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "fp/layer_norm.h"
#include "kernels/variant.h"

namespace scales::fp {
namespace {

struct Case {
  std::vector<float> x, gamma, beta;
};

Case make(int rows, int c, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  Case k;
  k.x.resize(static_cast<size_t>(rows) * c);
  k.gamma.resize(c);
  k.beta.resize(c);
  // Tokens with an offset and a spread of their own, as a residual stream has.
  for (int t = 0; t < rows; ++t) {
    const float off = 3.0f * nd(rng), spread = std::exp(nd(rng));
    for (int i = 0; i < c; ++i) k.x[static_cast<size_t>(t) * c + i] = off + spread * nd(rng);
  }
  for (auto& g : k.gamma) g = 1.0f + 0.3f * nd(rng);
  for (auto& b : k.beta) b = 0.2f * nd(rng);
  return k;
}

TEST(LayerNorm, MatchesTheDefinition) {
  for (int c : {1, 7, 16, 60, 64, 96, 120, 180}) {
    const int rows = 37;
    const Case k = make(rows, c, c);
    std::vector<float> y(k.x.size());
    layer_norm_rows(k.x.data(), rows, c, k.gamma.data(), k.beta.data(), y.data(), nullptr);
    for (int t = 0; t < rows; ++t) {
      const float* xt = k.x.data() + static_cast<size_t>(t) * c;
      double mean = 0, var = 0;
      for (int i = 0; i < c; ++i) mean += xt[i];
      mean /= c;
      for (int i = 0; i < c; ++i) var += (xt[i] - mean) * (xt[i] - mean);
      var /= c;
      const double rstd = 1.0 / std::sqrt(var + kLayerNormEps);
      for (int i = 0; i < c; ++i) {
        const double want = (xt[i] - mean) * rstd * k.gamma[i] + k.beta[i];
        ASSERT_NEAR(y[static_cast<size_t>(t) * c + i], want, 2e-5 * (1.0 + std::abs(want)))
            << "c=" << c << " token " << t << " channel " << i;
      }
    }
  }
}

TEST(LayerNorm, InPlaceEqualsOutOfPlace) {
  const Case k = make(21, 60, 3);
  std::vector<float> out(k.x.size()), in_place = k.x;
  layer_norm_rows(k.x.data(), 21, 60, k.gamma.data(), k.beta.data(), out.data(), nullptr);
  layer_norm_rows(in_place.data(), 21, 60, k.gamma.data(), k.beta.data(), in_place.data(), nullptr);
  EXPECT_EQ(in_place, out);
}

TEST(LayerNorm, VectorFormsEqualTheGenericOne) {
  int tested = 0;
  for (const auto& v : kernels::kernel_variants()) {
    if (!v.layer_norm || !v.supported) continue;
    ++tested;
    for (int c = 1; c <= 200; ++c) {
      const int rows = c % 2 ? 9 : 37;  // 37: 16-token groups, then 4, then 1
      const Case k = make(rows, c, 100 + c);
      // A guard value after the rows: the masked tails must not write past them.
      std::vector<float> want(k.x.size() + 1, 7.0f), got(k.x.size() + 1, 7.0f);
      std::vector<float> want_stats(2 * rows), got_stats(2 * rows), applied(k.x.size() + 1, 7.0f);
      layer_norm_rows(k.x.data(), rows, c, k.gamma.data(), k.beta.data(), want.data(), want_stats.data());
      v.layer_norm(k.x.data(), rows, c, k.gamma.data(), k.beta.data(), got.data(), got_stats.data());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
            << v.name << " c=" << c << " at " << i << ": " << got[i] << " vs " << want[i];
      ASSERT_EQ(got_stats, want_stats) << v.name << " c=" << c;
      // The second pass from the recorded stats gives the same bits.
      layer_norm_apply(k.x.data(), rows, c, got_stats.data(), k.gamma.data(), k.beta.data(), applied.data());
      for (size_t i = 0; i < applied.size(); ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(applied[i]), std::bit_cast<uint32_t>(want[i])) << "apply, c=" << c;
    }
  }
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_GT(tested, 0) << "no x86 or NEON variant with a vector LayerNorm ran";
#endif
}

}  // namespace
}  // namespace scales::fp
