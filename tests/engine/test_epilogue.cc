// The fused epilogue pieces: prepare_row packs exactly like the reference packer and computes the
// spatial factor and channel sums; epilogue_row computes x + ybin * g (then PReLU) by its formula.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bconv/epilogue.h"
#include "bconv/pack.h"
#include "kernels/variant.h"

namespace scales::bconv {
namespace {

TEST(Epilogue, PrepareRowPacksLikeTheReferencePacker) {
  for (const kernels::KernelVariant& kv : kernels::kernel_variants()) {
    if (!kv.supported) continue;
    SCOPED_TRACE(std::string(kv.name));
    for (int c : {1, 31, 63, 64, 65, 130}) {
      std::mt19937 rng(c);
      std::normal_distribution<float> nd;
      const int width = 37;
      std::vector<float> x(static_cast<size_t>(width) * c);
      for (auto& v : x) v = nd(rng);
      x[0] = 0.0f;  // sign(0) = +1
      if (c > 1) x[1] = -0.0f;
      ScalesParams next;
      next.shift.resize(c);
      for (auto& v : next.shift) v = 0.2f * nd(rng);
      next.spatial_w.resize(c);
      for (auto& v : next.spatial_w) v = nd(rng);
      next.spatial_b = 0.3f;
      next.fc1_w.assign(4 * c, 0.1f);  // channel re-scaling present: sums wanted
      PackedMap ref;
      pack_signs(x.data(), 1, width, c, next.shift.data(), ref);
      const int words = (c + 63) / 64;
      std::vector<uint64_t> got(static_cast<size_t>(width) * words, ~uint64_t{0});
      std::vector<float> s(width);
      std::vector<double> sums(c, 0.0);
      prepare_row(next, kv.pack, x.data(), width, c, got.data(), s.data(), sums.data());
      for (int p = 0; p < width; ++p) {
        for (int w = 0; w < words; ++w) ASSERT_EQ(got[p * words + w], ref.at(0, p)[w]) << "C=" << c << " p=" << p;
        double dot = 0;
        for (int ch = 0; ch < c; ++ch) dot += double(next.spatial_w[ch]) * x[p * c + ch];
        EXPECT_NEAR(s[p], 1.0 / (1.0 + std::exp(-(dot + 0.3))), 1e-5) << "C=" << c << " p=" << p;
      }
      for (int ch = 0; ch < c; ++ch) {
        double want = 0;
        for (int p = 0; p < width; ++p) want += x[p * c + ch];
        EXPECT_EQ(sums[ch], want) << "C=" << c << ": each channel adds its pixels in pixel order";
      }
    }
  }
}

TEST(Epilogue, RowFollowsTheFormula) {
  const int c = 5, width = 3;
  const std::vector<float> gk = {0.5f, -1.0f, 2.0f, 0.25f, 1.0f}, cfac = {1.0f, 0.5f, 0.25f, 2.0f, 1.0f};
  const std::vector<float> s = {1.0f, 0.5f, 2.0f}, prelu = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
  std::vector<int32_t> ybin(width * c);
  std::vector<float> x(width * c);
  for (int i = 0; i < width * c; ++i) {
    ybin[i] = 9 * (i % 7) - 27;
    x[i] = 0.1f * i - 0.5f;
  }
  std::vector<float> z = x;
  epilogue_row(gk.data(), s.data(), cfac.data(), ybin.data(), prelu.data(), width, c, z.data());
  for (int p = 0; p < width; ++p)
    for (int o = 0; o < c; ++o) {
      float want = x[p * c + o] + ybin[p * c + o] * (gk[o] * s[p] * cfac[o]);
      if (want < 0) want *= 0.1f;
      EXPECT_FLOAT_EQ(z[p * c + o], want) << p << "," << o;
    }
}

}  // namespace
}  // namespace scales::bconv
