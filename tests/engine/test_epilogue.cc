// The fused epilogue pieces: prepare_row packs exactly like the reference packer and computes the
// spatial factor and channel sums; epilogue_row computes x + ybin * g (then PReLU) by its formula;
// the residual epilogues (generic and the variants' vector forms) equal the row plus the residual.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
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

// Each variant's fused epilogue + preparation equals epilogue_row then prepare_row bit for bit,
// with every optional part on and off, at channel counts on and off the 16- and 64-lane edges.
TEST(Epilogue, FusedRowEqualsTheTwoPasses) {
  int fused_variants = 0;
  for (const kernels::KernelVariant& kv : kernels::kernel_variants()) {
    if (!kv.supported || !kv.epilogue_prepare) continue;
    ++fused_variants;
    for (int c : {1, 15, 16, 17, 32, 48, 63, 64, 65, 130}) {  // 16-64 by 16: the fixed-width paths
      for (int parts = 0; parts < 64; ++parts) {              // bit i: s_row, cfac, prelu, next, shift, spatial
        const bool has_s = parts & 1, has_cfac = parts & 2, has_prelu = parts & 4, has_next = parts & 8;
        SCOPED_TRACE(std::string(kv.name) + " C=" + std::to_string(c) + " parts=" + std::to_string(parts));
        std::mt19937 rng(c * 131 + parts);
        std::normal_distribution<float> nd;
        std::uniform_int_distribution<int32_t> ud(-576, 576);
        const int width = parts % 2 ? 23 : (parts & 8 ? 70 : 37), words = (c + 63) / 64;
        auto vec = [&](size_t n, float scale) {
          std::vector<float> v(n);
          for (auto& e : v) e = scale * nd(rng);
          return v;
        };
        const std::vector<float> gk = vec(c, 0.05f), s = vec(width, 1.0f), cfac = vec(c, 1.0f), prelu = vec(c, 0.3f);
        std::vector<int32_t> ybin(static_cast<size_t>(width) * c);
        for (auto& v : ybin) v = ud(rng);
        std::vector<float> x = vec(static_cast<size_t>(width) * c, 1.0f);
        x[0] = -0.0f;  // sign(-0) = +1 on both paths
        ScalesParams next;
        if (parts & 16) next.shift = vec(c, 0.2f);
        if (parts & 32) {
          // Wide channels get large weights: their dot products pass the sigmoid's clamp (+-87).
          next.spatial_w = vec(c, c >= 63 ? 20.0f : 1.0f);
          next.spatial_b = 0.1f;
        }
        next.fc1_w.assign(4 * c, 0.1f);  // sums wanted
        std::vector<float> x1 = x, x2 = x, s1(width, -1.0f), s2 = s1;
        std::vector<uint64_t> b1(static_cast<size_t>(width) * words, 7), b2 = b1;
        std::vector<double> m1(c, 0.5), m2 = m1;
        epilogue_row(gk.data(), has_s ? s.data() : nullptr, has_cfac ? cfac.data() : nullptr, ybin.data(),
                     has_prelu ? prelu.data() : nullptr, width, c, x1.data());
        if (has_next) prepare_row(next, bgemm::pack_signs_ref, x1.data(), width, c, b1.data(), s1.data(), m1.data());
        kv.epilogue_prepare(gk.data(), has_s ? s.data() : nullptr, has_cfac ? cfac.data() : nullptr, ybin.data(),
                            has_prelu ? prelu.data() : nullptr, width, c, x2.data(), has_next ? &next : nullptr,
                            b2.data(), s2.data(), m2.data());
        ASSERT_EQ(x1, x2);
        ASSERT_EQ(b1, b2);
        ASSERT_EQ(s1, s2);
        ASSERT_EQ(m1, m2);
      }
    }
  }
  if (fused_variants == 0) GTEST_SKIP() << "no kernel variant with a fused epilogue runs on this CPU";
}

TEST(Epilogue, VectorSpatialFactorsEqualTheGenericOnes) {
  int vector_variants = 0;
  for (const kernels::KernelVariant& kv : kernels::kernel_variants()) {
    if (!kv.supported || !kv.spatial_factors) continue;
    ++vector_variants;
    // SwinIR's widths (60, 120, 180) and the tails of 8- and 16-lane steps; token counts around
    // whole blocks of 8 and 16.
    for (int c : {1, 7, 8, 12, 16, 17, 32, 60, 64, 120, 180}) {
      for (int width : {1, 7, 8, 9, 15, 16, 17, 64}) {
        SCOPED_TRACE(std::string(kv.name) + " C=" + std::to_string(c) + " tokens=" + std::to_string(width));
        std::mt19937 rng(c * 977 + width);
        std::normal_distribution<float> nd;
        std::vector<float> w(c), x(static_cast<size_t>(width) * c);
        for (auto& e : w) e = 0.3f * nd(rng);
        for (auto& e : x) e = 2.0f * nd(rng);
        const float b = 0.1f * nd(rng);
        std::vector<float> want(width), got(width + 1, -7.0f);  // one guard element past the end
        spatial_factors(w.data(), b, x.data(), width, c, want.data());
        kv.spatial_factors(w.data(), b, x.data(), width, c, got.data());
        for (int p = 0; p < width; ++p) EXPECT_EQ(got[p], want[p]) << "token " << p;
        EXPECT_EQ(got[width], -7.0f) << "written past the last token";
      }
    }
  }
  if (vector_variants == 0) GTEST_SKIP() << "no kernel variant with vector spatial factors runs on this CPU";
}

// The kernel variants' vector forms of a residual epilogue (blinear/epilogue.h) against `want`,
// bit for bit, with a guard after the output (the masked tails must not write past it). Returns
// how many variants ran.
int expect_variants_equal(bool mean, const std::vector<float>& gk, const float* s_row, const float* cfac,
                          const std::vector<int32_t>& ybin, int width, int out, const std::vector<float>& x, int in,
                          const std::vector<float>& want) {
  int tested = 0;
  for (const kernels::KernelVariant& kv : kernels::kernel_variants()) {
    const blinear::ResidualEpilogueFn fn = mean ? kv.epilogue_mean : kv.epilogue_repeat;
    if (!kv.supported || !fn) continue;
    ++tested;
    std::vector<float> got(want.size() + 1, 7.0f);
    fn(gk.data(), s_row, cfac, ybin.data(), width, out, x.data(), in, got.data());
    EXPECT_EQ(got.back(), 7.0f) << kv.name << " wrote past the output";
    got.pop_back();
    EXPECT_EQ(got, want) << kv.name;
  }
  return tested;
}

// Every x86 and aarch64 build has vector residual epilogues; other machines run only the generic ones.
void expect_some_vector_form(int tested) {
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_GT(tested, 0) << "no x86 or NEON variant with vector residual epilogues ran";
#else
  (void)tested;
#endif
}

TEST(Epilogue, RepeatedResidualEqualsCopyingThenTheRow) {
  for (int in : {1, 12, 17, 60}) {
    for (int reps : {1, 2, 3}) {
      for (int parts = 0; parts < 4; ++parts) {  // bit 0: s_row, bit 1: cfac
        const int out = in * reps, width = 19;
        SCOPED_TRACE("in=" + std::to_string(in) + " out=" + std::to_string(out) + " parts=" + std::to_string(parts));
        std::mt19937 rng(in * 7 + reps * 3 + parts);
        std::normal_distribution<float> nd;
        std::uniform_int_distribution<int32_t> ud(-576, 576);
        std::vector<float> gk(out), cf(out), s(width), x(static_cast<size_t>(width) * in);
        std::vector<int32_t> ybin(static_cast<size_t>(width) * out);
        for (auto& e : gk) e = 0.01f * nd(rng);
        for (auto& e : cf) e = 0.5f + 0.1f * nd(rng);
        for (auto& e : s) e = 0.5f + 0.1f * nd(rng);
        for (auto& e : x) e = nd(rng);
        for (auto& e : ybin) e = ud(rng);
        const float* s_row = parts & 1 ? s.data() : nullptr;
        const float* cfac = parts & 2 ? cf.data() : nullptr;
        std::vector<float> want(static_cast<size_t>(width) * out), got(want.size(), NAN);
        for (int t = 0; t < width; ++t)
          for (int o = 0; o < out; ++o)
            want[static_cast<size_t>(t) * out + o] = x[static_cast<size_t>(t) * in + o % in];
        epilogue_row(gk.data(), s_row, cfac, ybin.data(), nullptr, width, out, want.data());
        epilogue_row_repeat(gk.data(), s_row, cfac, ybin.data(), width, out, x.data(), in, got.data());
        ASSERT_EQ(got, want);
        expect_some_vector_form(expect_variants_equal(false, gk, s_row, cfac, ybin, width, out, x, in, want));
      }
    }
  }
}

TEST(Epilogue, MeanResidualEqualsWritingTheMeanThenTheRow) {
  for (int out : {1, 12, 17, 60}) {
    for (int k : {1, 2, 3}) {
      for (int parts = 0; parts < 4; ++parts) {  // bit 0: s_row, bit 1: cfac
        const int in = out * k, width = 19;
        SCOPED_TRACE("in=" + std::to_string(in) + " out=" + std::to_string(out) + " parts=" + std::to_string(parts));
        std::mt19937 rng(out * 5 + k * 11 + parts);
        std::normal_distribution<float> nd;
        std::uniform_int_distribution<int32_t> ud(-576, 576);
        std::vector<float> gk(out), cf(out), s(width), x(static_cast<size_t>(width) * in);
        std::vector<int32_t> ybin(static_cast<size_t>(width) * out);
        for (auto& e : gk) e = 0.01f * nd(rng);
        for (auto& e : cf) e = 0.5f + 0.1f * nd(rng);
        for (auto& e : s) e = 0.5f + 0.1f * nd(rng);
        for (auto& e : x) e = nd(rng);
        for (auto& e : ybin) e = ud(rng);
        const float* s_row = parts & 1 ? s.data() : nullptr;
        const float* cfac = parts & 2 ? cf.data() : nullptr;
        std::vector<float> want(static_cast<size_t>(width) * out), got(want.size(), NAN);
        for (int t = 0; t < width; ++t)
          for (int o = 0; o < out; ++o) {
            float acc = 0.0f;
            for (int j = 0; j < k; ++j) acc += x[static_cast<size_t>(t) * in + j * out + o];
            want[static_cast<size_t>(t) * out + o] = acc / static_cast<float>(k);
          }
        epilogue_row(gk.data(), s_row, cfac, ybin.data(), nullptr, width, out, want.data());
        epilogue_row_mean(gk.data(), s_row, cfac, ybin.data(), width, out, x.data(), in, got.data());
        ASSERT_EQ(got, want);
        expect_some_vector_form(expect_variants_equal(true, gk, s_row, cfac, ybin, width, out, x, in, want));
      }
    }
  }
}

// The residual-free epilogue (z = 0 + ybin * g in one pass) against zeros then epilogue_row, bit
// for bit: every tenth kernel sum is 0, and half the factors negative, so that -0 products occur
// and the form must turn them into +0 as 0 + v does.
TEST(Epilogue, PlainEqualsZerosThenTheRow) {
  int tested = 0;
  for (int out : {1, 12, 17, 60, 180}) {
    for (int parts = 0; parts < 4; ++parts) {  // bit 0: s_row, bit 1: cfac
      const int width = 19;
      SCOPED_TRACE("out=" + std::to_string(out) + " parts=" + std::to_string(parts));
      std::mt19937 rng(out * 13 + parts);
      std::normal_distribution<float> nd;
      std::uniform_int_distribution<int32_t> ud(-576, 576);
      std::vector<float> gk(out), cf(out), s(width);
      std::vector<int32_t> ybin(static_cast<size_t>(width) * out);
      for (auto& e : gk) e = 0.01f * nd(rng);
      for (auto& e : cf) e = 0.5f + 0.1f * nd(rng);
      for (auto& e : s) e = 0.5f + 0.1f * nd(rng);
      for (size_t i = 0; i < ybin.size(); ++i) ybin[i] = i % 10 == 3 ? 0 : ud(rng);
      const float* s_row = parts & 1 ? s.data() : nullptr;
      const float* cfac = parts & 2 ? cf.data() : nullptr;
      std::vector<float> want(static_cast<size_t>(width) * out, 0.0f);
      epilogue_row(gk.data(), s_row, cfac, ybin.data(), nullptr, width, out, want.data());
      for (const kernels::KernelVariant& kv : kernels::kernel_variants()) {
        if (!kv.supported || !kv.epilogue_plain) continue;
        ++tested;
        std::vector<float> got(want.size() + 1, 7.0f);  // one guard element past the end
        kv.epilogue_plain(gk.data(), s_row, cfac, ybin.data(), width, out, got.data());
        EXPECT_EQ(got.back(), 7.0f) << kv.name << " wrote past the output";
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
              << kv.name << " at " << i << ": " << got[i] << " vs " << want[i];
      }
    }
  }
  expect_some_vector_form(tested);
}

// channel_sums_row adds into the sums it is given, each channel's pixels in pixel order, whatever
// blocks (32, 8, 4, 1 channels) it splits the channels into: the same doubles as the plain loop.
TEST(Epilogue, ChannelSumsAddEachChannelsPixelsInOrder) {
  for (int c : {1, 3, 4, 7, 12, 36, 60, 64, 120, 180}) {
    for (int width : {1, 5, 33}) {
      SCOPED_TRACE("C=" + std::to_string(c) + " width=" + std::to_string(width));
      std::mt19937 rng(c * 31 + width);
      // Magnitudes from 1e-12 to 1e12, so that a double sum depends on the order of its terms
      // (floats of one range would sum exactly in a double, whatever the order).
      std::normal_distribution<float> nd;
      std::uniform_real_distribution<float> ex(-12.0f, 12.0f);
      std::vector<float> x(static_cast<size_t>(width) * c);
      for (auto& e : x) e = nd(rng) * std::pow(10.0f, ex(rng));
      std::vector<double> want(c), got(c);
      for (int o = 0; o < c; ++o) want[o] = got[o] = 0.25 * o - 3.0;  // the sums so far
      for (int p = 0; p < width; ++p)
        for (int o = 0; o < c; ++o) want[o] += x[static_cast<size_t>(p) * c + o];
      channel_sums_row(x.data(), width, c, got.data());
      for (int o = 0; o < c; ++o) ASSERT_EQ(got[o], want[o]) << "channel " << o;
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
