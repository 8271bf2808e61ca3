// The engine's GELU (blinear/gelu.h): close to x * Phi(x) computed with std::erf in double over
// every float that matters, with the edge values PyTorch's form gives, and each kernel variant's
// vector form (kernels/variant.h) equal to the generic gelu_rows bit for bit, tails included.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "blinear/gelu.h"
#include "kernels/variant.h"

namespace scales::blinear {
namespace {

double exact_gelu(float x) {
  const double v = x;
  return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
}

// Every 499th float from -20 to 20 (about 4 million values), and the edges.
std::vector<float> sweep() {
  std::vector<float> v;
  for (float x = -20.0f; x < 20.0f;) {
    v.push_back(x);
    uint32_t b = std::bit_cast<uint32_t>(x);
    if (x < 0.0f) {
      b = b > 499 + 0x80000000u ? b - 499 : 0;
    } else {
      b += 499;
    }
    x = std::bit_cast<float>(b);
  }
  for (float e : {0.0f, -0.0f, 1e-30f, -1e-30f, 13.0f, -13.0f, 13.3f, -13.3f, 100.0f, -100.0f, 1e30f, -1e30f,
                  std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min()})
    v.push_back(e);
  return v;
}

std::vector<float> generic(std::vector<float> v) {
  gelu_rows(v.data(), v.size());
  return v;
}

TEST(Gelu, IsCloseToTheErfForm) {
  const std::vector<float> in = sweep();
  const std::vector<float> out = generic(in);
  double worst = 0.0;
  float worst_at = 0.0f;
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_TRUE(std::isfinite(out[i])) << in[i];
    // Abramowitz & Stegun bound erf within 1.5e-7, so x * Phi(x) within 0.75e-7 |x|, plus the
    // float roundings.
    const double err = std::abs(out[i] - exact_gelu(in[i])) / std::max(1.0, std::abs(static_cast<double>(in[i])));
    if (err > worst) worst = err, worst_at = in[i];
  }
  EXPECT_LT(worst, 3e-7) << "worst at x = " << worst_at;
}

TEST(Gelu, EdgeValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> out = generic({0.0f, 1.0f, -1.0f, 30.0f, -30.0f, inf, -inf, nan});
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 0.8413447460685429, 2e-7);
  EXPECT_NEAR(out[2], -0.15865525393145707, 2e-7);
  EXPECT_EQ(out[3], 30.0f);             // Phi(30) rounds to 1
  EXPECT_LE(std::abs(out[4]), 1e-30f);  // -30 * Phi(-30): about -1e-196, 0 in float
  EXPECT_EQ(out[5], inf);
  EXPECT_TRUE(std::isnan(out[6]));  // -inf * 0, as x * Phi(x) is
  EXPECT_TRUE(std::isnan(out[7]));
}

TEST(Gelu, VectorFormsEqualTheGenericOne) {
  std::vector<float> in = sweep();
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 3.0f);
  for (int i = 0; i < 100000; ++i) in.push_back(n(rng));
  const float inf = std::numeric_limits<float>::infinity();
  for (float e : {inf, -inf, std::numeric_limits<float>::quiet_NaN()}) in.push_back(e);
  const std::vector<float> want = generic(in);
  int tested = 0;
  for (const auto& k : kernels::kernel_variants()) {
    if (!k.gelu_rows || !k.supported) continue;
    ++tested;
    // Whole arrays, and every length up to 40 (the tails) at an unaligned start.
    std::vector<float> got = in;
    k.gelu_rows(got.data(), got.size());
    for (size_t i = 0; i < in.size(); ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
          << k.name << " at x = " << in[i] << ": " << got[i] << " vs " << want[i];
    for (size_t len = 0; len <= 40; ++len) {
      std::vector<float> buf(in.begin() + 3, in.begin() + 3 + len + 1);
      const float guard = buf[len];
      k.gelu_rows(buf.data(), len);
      for (size_t i = 0; i < len; ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(buf[i]), std::bit_cast<uint32_t>(want[3 + i])) << k.name << " len " << len;
      ASSERT_EQ(std::bit_cast<uint32_t>(buf[len]), std::bit_cast<uint32_t>(guard)) << k.name << " wrote past " << len;
    }
  }
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_GT(tested, 0) << "no x86 or NEON variant with a vector GELU ran";
#endif
}

}  // namespace
}  // namespace scales::blinear
