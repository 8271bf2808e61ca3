// The fused window-attention kernels (attn/window.h) against window_ref, the scalar definition,
// for every ISA this machine runs: head dims 1 to 16, windows of 16 and 64 tokens, with and
// without the shifted-window mask, tokens scattered over a larger map (so a wrong row offset
// reads another token), and scores large enough that the softmax depends on its max shift.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "attn/window.h"
#include "variant_util.h"

namespace scales {
namespace {

struct Case {
  int n, c, heads;
  bool masked;
  float spread;  // q, k scale: the scores reach about spread^2 * hd
};

struct Outputs {
  std::vector<float> ref, got;
};

Outputs run_case(const Case& k, attn::WindowFn fn, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int L = 3 * k.n + 5;  // the window's tokens are n of L, in shuffled order
  std::vector<float> qkv(static_cast<size_t>(L) * 3 * k.c);
  for (size_t i = 0; i < qkv.size(); ++i) qkv[i] = u(rng) * ((i % (3 * k.c)) < size_t(2 * k.c) ? k.spread : 1.0f);
  std::vector<int32_t> all(L);
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<int32_t> token(all.begin(), all.begin() + k.n);
  std::vector<uint8_t> region(k.n);
  for (auto& r : region) r = static_cast<uint8_t>(rng() % 4);
  std::vector<float> bias_t(static_cast<size_t>(k.heads) * k.n * k.n);
  for (auto& b : bias_t) b = u(rng) * 2.0f;
  attn::WindowArgs a;
  a.qkv = qkv.data();
  a.token = token.data();
  a.region = k.masked ? region.data() : nullptr;
  a.bias_t = bias_t.data();
  a.n = k.n;
  a.c = k.c;
  a.heads = k.heads;
  a.scale = 1.0f / std::sqrt(static_cast<float>(k.c / k.heads));
  Outputs o;
  // NaN everywhere first: a row the kernel fails to write, or writes for a token outside the
  // window, shows up.
  o.ref.assign(static_cast<size_t>(L) * k.c, NAN);
  o.got = o.ref;
  a.out = o.ref.data();
  attn::window_ref(a);
  a.out = o.got.data();
  fn(a);
  return o;
}

class WindowAttention : public ::testing::TestWithParam<const char*> {};

TEST_P(WindowAttention, FusedMatchesTheDefinition) {
  SCALES_VARIANT_OR_SKIP(v, GetParam());
  if (!v->window_attention) GTEST_SKIP() << v->name << " has no fused window attention (the oneDNN path runs)";
  std::vector<Case> cases;
  for (int hd = 1; hd <= attn::kMaxHeadDim; ++hd) cases.push_back({64, 3 * hd, 3, hd % 2 == 0, 1.0f});
  cases.push_back({64, 60, 6, false, 1.0f});  // paper-size SwinIR
  cases.push_back({64, 60, 6, true, 1.0f});
  cases.push_back({64, 32, 4, true, 1.0f});  // the shipped models
  cases.push_back({16, 48, 3, true, 1.0f});  // window 4
  cases.push_back({64, 60, 6, true, 4.0f});  // scores in the tens: the max shift matters
  uint32_t seed = 1;
  for (const Case& k : cases) {
    SCOPED_TRACE("n=" + std::to_string(k.n) + " c=" + std::to_string(k.c) + " heads=" + std::to_string(k.heads) +
                 (k.masked ? " masked" : "") + " spread=" + std::to_string(k.spread));
    ASSERT_TRUE(attn::fused_fits(k.n, k.c, k.heads, v->attention_lanes, 3 * k.n + 5));
    const Outputs o = run_case(k, v->window_attention, seed++);
    double worst = 0.0;
    for (size_t i = 0; i < o.ref.size(); ++i) {
      ASSERT_EQ(std::isnan(o.ref[i]), std::isnan(o.got[i])) << "element " << i << " written by one side only";
      if (!std::isnan(o.ref[i])) worst = std::max(worst, static_cast<double>(std::fabs(o.ref[i] - o.got[i])));
    }
    // Outputs are averages of values in [-1, 1]: the kernels differ from the definition only in
    // rounding (FMA, summation order, the engine's exp against std::exp).
    EXPECT_LT(worst, 2e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, WindowAttention, scales::testing::all_isas(),
                         [](const auto& info) { return std::string(info.param); });

TEST(WindowAttentionFits, RefusesWhatTheKernelsCannotHold) {
  EXPECT_TRUE(attn::fused_fits(64, 60, 6, 16, 16384));
  EXPECT_FALSE(attn::fused_fits(49, 60, 6, 16, 16384));             // window 7: not whole lanes
  EXPECT_TRUE(attn::fused_fits(56, 60, 6, 8, 16384));               // 56 tokens are whole 8-lane groups
  EXPECT_FALSE(attn::fused_fits(64, 180, 6, 16, 16384));            // head dim 30
  EXPECT_FALSE(attn::fused_fits(64, 60, 7, 16, 16384));             // 60 channels do not split in 7 heads
  EXPECT_FALSE(attn::fused_fits(400, 60, 6, 16, 16384));            // window 20
  EXPECT_FALSE(attn::fused_fits(64, 60, 6, 16, int64_t{1} << 24));  // offsets past int32
}

}  // namespace
}  // namespace scales
