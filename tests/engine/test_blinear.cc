// The binary linear kernels (SCALES-SwinIR): the reference against a float dot product of the
// unpacked +-1 values, and every ISA variant against the reference exactly, over channel counts
// around the 64-bit word, output counts around the 8-lane group and token counts around the
// unroll. Variants this build or CPU lacks are skipped with a message, never passed silently.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>

#include "blinear/kernel.h"
#include "variant_util.h"

namespace scales::blinear {
namespace {

struct Shape {
  int c_in, c_out, tokens;
};

std::vector<uint64_t> random_bits(std::mt19937& rng, int rows, int channels) {
  const int words = (channels + 63) / 64;
  std::vector<uint64_t> bits(static_cast<size_t>(rows) * words, 0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c)
      if (rng() & 1) bits[static_cast<size_t>(r) * words + c / 64] |= uint64_t{1} << (c % 64);
  return bits;
}

float pm(const std::vector<uint64_t>& bits, int words, int row, int c) {
  return (bits[static_cast<size_t>(row) * words + c / 64] >> (c % 64)) & 1 ? -1.0f : 1.0f;
}

TEST(BlinearRef, EqualsTheFloatDotProductOfSigns) {
  std::mt19937 rng(5);
  for (const Shape s : {Shape{1, 3, 2}, Shape{65, 9, 5}, Shape{130, 17, 3}}) {
    const int words = (s.c_in + 63) / 64;
    const auto a = random_bits(rng, s.tokens, s.c_in);
    const BlinearWeights w = make_blinear_weights(random_bits(rng, s.c_out, s.c_in), s.c_out, s.c_in);
    std::vector<int32_t> out(static_cast<size_t>(s.tokens) * s.c_out);
    blinear_ref(a.data(), s.tokens, w, out.data());
    for (int t = 0; t < s.tokens; ++t)
      for (int o = 0; o < s.c_out; ++o) {
        float dot = 0;
        for (int c = 0; c < s.c_in; ++c) dot += pm(a, words, t, c) * pm(w.bits, words, o, c);
        ASSERT_EQ(out[static_cast<size_t>(t) * s.c_out + o], static_cast<int32_t>(dot)) << "t=" << t << " o=" << o;
      }
  }
}

TEST(BlinearPack, SignOfShiftedTokensWithZeroAsPlusOne) {
  const float x[] = {-1.0f, 0.0f, -0.0f, 2.0f, 0.5f};  // one token of 5 channels
  const float shift[] = {0.0f, 0.0f, 0.0f, -3.0f, -0.5f};
  uint64_t out = ~uint64_t{0};
  bgemm::pack_signs_ref(x, 1, 5, nullptr, &out);
  EXPECT_EQ(out, 0b00001u);  // only -1 is negative; pad bits zero
  bgemm::pack_signs_ref(x, 1, 5, shift, &out);
  EXPECT_EQ(out, 0b01001u);  // 2 - 3 < 0; 0.5 - 0.5 = 0 counts as +1
  std::vector<float> wide(130, 1.0f);
  wide[64] = wide[129] = -1.0f;
  uint64_t three[3];
  bgemm::pack_signs_ref(wide.data(), 1, 130, nullptr, three);
  EXPECT_EQ(three[0], 0u);
  EXPECT_EQ(three[1], 1u);
  EXPECT_EQ(three[2], 2u);
}

using Param = std::tuple<std::string, Shape>;
// k: the parameter's ISA variant; a variant this build or CPU lacks skips the test, saying which.
class BlinearKernel : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    std::string why;
    k = testing::variant_named(std::get<0>(GetParam()), why);
    if (!k) GTEST_SKIP() << why;
  }
  const kernels::KernelVariant* k = nullptr;
};

TEST_P(BlinearKernel, EqualsReferenceExactly) {
  const auto& [isa, s] = GetParam();
  std::mt19937 rng(s.c_in * 7919 + s.c_out * 31 + s.tokens);
  const auto a = random_bits(rng, s.tokens, s.c_in);
  const BlinearWeights w = make_blinear_weights(random_bits(rng, s.c_out, s.c_in), s.c_out, s.c_in);
  std::vector<int32_t> want(static_cast<size_t>(s.tokens) * s.c_out), got(want.size(), 0x7fffffff);  // poisoned
  blinear_ref(a.data(), s.tokens, w, want.data());
  k->linear(a.data(), s.tokens, w, got.data());
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(got[i], want[i]) << isa << " t=" << i / s.c_out << " o=" << i % s.c_out;
}

// The variant's sign packing against the reference, with and without a shift, on values that
// include zeros of both signs, NaN, infinities and values that the shift moves across zero.
TEST_P(BlinearKernel, PackEqualsReferenceExactly) {
  const auto& [isa, s] = GetParam();
  std::mt19937 rng(s.c_in * 104729 + s.tokens);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const float special[] = {0.0f, -0.0f, std::nanf(""), -std::nanf(""), INFINITY, -INFINITY, 1e-38f, -1e-38f};
  std::vector<float> x(static_cast<size_t>(s.tokens) * s.c_in), shift(s.c_in);
  for (auto& v : x) v = rng() % 5 == 0 ? special[rng() % 8] : u(rng);
  for (auto& v : shift) v = rng() % 4 == 0 ? 0.0f : u(rng);
  const int words = (s.c_in + 63) / 64;
  for (const float* sh : {static_cast<const float*>(nullptr), static_cast<const float*>(shift.data())}) {
    std::vector<uint64_t> want(static_cast<size_t>(s.tokens) * words), got(want.size(), ~uint64_t{0});  // poisoned
    bgemm::pack_signs_ref(x.data(), s.tokens, s.c_in, sh, want.data());
    k->pack(x.data(), s.tokens, s.c_in, sh, got.data());
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << isa << (sh ? " shifted" : "") << " token " << i / words << " word " << i % words;
  }
}

const Shape kShapes[] = {{1, 1, 1},  {31, 3, 9},    {32, 96, 17}, {60, 180, 64}, {63, 7, 8},    {64, 64, 33},
                         {65, 9, 5}, {120, 60, 16}, {130, 17, 3}, {512, 8, 12},  {2000, 24, 9}, {4100, 16, 2}};

INSTANTIATE_TEST_SUITE_P(All, BlinearKernel, ::testing::Combine(testing::all_isas(), ::testing::ValuesIn(kShapes)),
                         [](const auto& info) {
                           const Shape& s = std::get<1>(info.param);
                           return "Isa_" + std::get<0>(info.param) + "__Linear_" + std::to_string(s.c_in) + "_to_" +
                                  std::to_string(s.c_out) + "_T" + std::to_string(s.tokens);
                         });

}  // namespace
}  // namespace scales::blinear
