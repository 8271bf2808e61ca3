// Every binary conv kernel variant (the "ref" GEMM included) against the explicit reference conv,
// exactly (integer sums), over ISA x channel counts around the 64-bit word x odd map sizes. Variants this build or this
// CPU lacks are skipped with a message, never passed silently.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>

#include "bconv/bconv3x3_ref.h"
#include "bconv/pack.h"
#include "bconv/weights.h"
#include "kernels/variant.h"
#include "scales/engine.h"
#include "variant_util.h"

namespace scales::bconv {
namespace {

using kernels::kernel_variants;
using kernels::KernelVariant;
using kernels::select_kernel;

struct Shape {
  int c_in, c_out, height, width;
};

using Param = std::tuple<std::string, Shape>;

class BconvKernel : public ::testing::TestWithParam<Param> {};

TEST_P(BconvKernel, EqualsReferenceExactly) {
  const auto& [isa, s] = GetParam();
  SCALES_VARIANT_OR_SKIP(k, isa);
  std::mt19937 rng(s.c_in * 7919 + s.c_out * 31 + s.height * 3 + s.width);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(s.height) * s.width * s.c_in);
  for (auto& v : x) v = nd(rng);
  PackedMap a;
  pack_signs(x.data(), s.height, s.width, s.c_in, nullptr, a);
  const int words = (s.c_in + 63) / 64;
  std::vector<uint64_t> bits(static_cast<size_t>(s.c_out) * 9 * words, 0);
  for (int o = 0; o < s.c_out; ++o)
    for (int t = 0; t < 9; ++t)
      for (int i = 0; i < s.c_in; ++i)
        if (rng() & 1) bits[(static_cast<size_t>(o) * 9 + t) * words + i / 64] |= uint64_t{1} << (i % 64);
  const BconvWeights w = make_bconv_weights(bits, s.c_out, s.c_in);
  // The oracle is the explicit tap-by-tap conv (bconv3x3_ref.h), not the GEMM core: the "ref"
  // variant (the reference GEMM) is held to it like every ISA.
  std::vector<int32_t> want(static_cast<size_t>(s.height) * s.width * s.c_out);
  bconv3x3_ref(a, bits.data(), s.c_out, s.c_in, want.data());
  std::vector<int32_t> got(static_cast<size_t>(s.width) * s.c_out);
  for (int y = 0; y < s.height; ++y) {
    std::fill(got.begin(), got.end(), 0x7fffffff);  // poisoned: every entry must be written
    k->row(a, w, y, got.data());
    const int32_t* wy = want.data() + static_cast<size_t>(y) * s.width * s.c_out;
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], wy[i]) << isa << " y=" << y << " x=" << i / s.c_out << " o=" << i % s.c_out;
  }
}

const Shape kShapes[] = {{1, 1, 3, 5},    {31, 31, 5, 7}, {32, 32, 4, 9},   {33, 33, 3, 6},   {63, 63, 2, 5},
                         {64, 64, 7, 11}, {65, 65, 3, 5}, {130, 130, 2, 3}, {512, 512, 2, 3}, {64, 13, 3, 9},
                         {20, 64, 5, 5},  {64, 64, 1, 1}, {64, 64, 1, 17}};

INSTANTIATE_TEST_SUITE_P(All, BconvKernel, ::testing::Combine(testing::all_isas(), ::testing::ValuesIn(kShapes)),
                         [](const auto& info) {
                           const Shape& s = std::get<1>(info.param);
                           return "Isa_" + std::get<0>(info.param) + "__Cin_" + std::to_string(s.c_in) + "_Cout_" +
                                  std::to_string(s.c_out) + "_" + std::to_string(s.height) + "x" +
                                  std::to_string(s.width);
                         });

TEST(KernelDispatch, AutoPicksTheLastSupportedVariant) {
  const auto all = kernel_variants();
  const KernelVariant* best = nullptr;
  for (const auto& k : all)
    if (k.supported) best = &k;
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(select_kernel("").name, best->name);
  EXPECT_EQ(select_kernel("auto").name, best->name);
  EXPECT_EQ(select_kernel("ref").name, "ref");
}

TEST(KernelDispatch, UnknownNameIsAClearError) {
  try {
    select_kernel("sse9");
    FAIL() << "no error";
  } catch (const scales::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown kernel 'sse9'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scales::bconv
