// The reference binary conv against a float convolution of +-1 values (with +1 padding), over
// channel counts around the 64-bit word boundaries, and the packing's bit order.
#include <gtest/gtest.h>

#include <random>

#include "bconv/bconv3x3_ref.h"
#include "bconv/pack.h"

namespace scales::bconv {
namespace {

struct Case {
  int channels, height, width;
};

class BconvRef : public ::testing::TestWithParam<Case> {};

TEST_P(BconvRef, MatchesFloatConvOfSigns) {
  const auto [c, h, w] = GetParam();
  const int words = (c + 63) / 64;
  std::mt19937 rng(c * 1000 + h * 10 + w);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(h) * w * c), shift(c);
  for (auto& v : x) v = nd(rng);
  for (auto& v : shift) v = 0.3f * nd(rng);
  // Weights as +-1 floats (O, I, 3, 3) and their packed bits (O, 3, 3, words).
  std::vector<float> wf(static_cast<size_t>(c) * c * 9);
  std::vector<uint64_t> wb(static_cast<size_t>(c) * 9 * words, 0);
  for (int o = 0; o < c; ++o)
    for (int i = 0; i < c; ++i)
      for (int t = 0; t < 9; ++t) {
        const bool neg = rng() & 1;
        wf[(static_cast<size_t>(o) * c + i) * 9 + t] = neg ? -1.f : 1.f;
        if (neg) wb[(static_cast<size_t>(o) * 9 + t) * words + i / 64] |= uint64_t{1} << (i % 64);
      }
  PackedMap a;
  pack_signs(x.data(), h, w, c, shift.data(), a);
  std::vector<int32_t> got(static_cast<size_t>(h) * w * c, 0x7fffffff);  // poisoned
  bconv3x3_ref(a, wb.data(), c, c, got.data());
  for (int y = 0; y < h; ++y)
    for (int xx = 0; xx < w; ++xx)
      for (int o = 0; o < c; ++o) {
        float acc = 0;
        for (int kh = 0; kh < 3; ++kh)
          for (int kw = 0; kw < 3; ++kw) {
            const int yy = y + kh - 1, xs = xx + kw - 1;
            for (int i = 0; i < c; ++i) {
              float av = 1.f;  // padding value +1
              if (yy >= 0 && yy < h && xs >= 0 && xs < w) {
                const float u = x[(static_cast<size_t>(yy) * w + xs) * c + i] + shift[i];
                av = u >= 0 ? 1.f : -1.f;
              }
              acc += av * wf[(static_cast<size_t>(o) * c + i) * 9 + kh * 3 + kw];
            }
          }
        ASSERT_EQ(got[(static_cast<size_t>(y) * w + xx) * c + o], static_cast<int32_t>(acc))
            << "y=" << y << " x=" << xx << " o=" << o;
      }
}

INSTANTIATE_TEST_SUITE_P(Channels, BconvRef,
                         ::testing::Values(Case{1, 3, 4}, Case{31, 5, 3}, Case{32, 4, 4}, Case{33, 2, 5},
                                           Case{63, 3, 3}, Case{64, 4, 3}, Case{65, 3, 2}, Case{130, 2, 3}),
                         [](const auto& info) { return "C_" + std::to_string(info.param.channels); });

TEST(Pack, OneHotChannelSetsExactlyOneBit) {
  for (int c : {1, 63, 64, 65, 130}) {
    for (int hot = 0; hot < c; hot += 7) {
      std::vector<float> x(c, 1.0f);
      x[hot] = -0.5f;
      PackedMap a;
      pack_signs(x.data(), 1, 1, c, nullptr, a);
      const uint64_t* px = a.at(0, 0);
      for (int w = 0; w < a.words; ++w) {
        const uint64_t want = (w == hot / 64) ? uint64_t{1} << (hot % 64) : 0;
        EXPECT_EQ(px[w], want) << "C=" << c << " hot=" << hot << " word=" << w;
      }
      for (int w = 0; w < a.words; ++w) EXPECT_EQ(a.at(-1, 0)[w], 0u);  // border is +1
    }
  }
}

TEST(Pack, ZeroAndNegativeZeroArePlusOne) {
  std::vector<float> x = {0.0f, -0.0f, -1e-30f};
  PackedMap a;
  pack_signs(x.data(), 1, 1, 3, nullptr, a);
  EXPECT_EQ(a.at(0, 0)[0], 0b100u);
}

}  // namespace
}  // namespace scales::bconv
