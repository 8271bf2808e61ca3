// The engine's sigmoid (bconv/sigmoid.h): close to 1 / (1 + std::exp(-v)) over every float that
// matters, finite everywhere, and its vector forms (sigmoid_avx2.h, sigmoid_avx512.h,
// sigmoid_neon.h) equal to it lane by lane.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "bconv/sigmoid.h"

namespace scales::bconv {

#if defined(__x86_64__)
// test_sigmoid_avx2.cc / test_sigmoid_avx512.cc: sigmoid8 / sigmoid16 over n floats (n a
// multiple of 16).
void sigmoid8_for_test(const float* v, float* out, int n);
void sigmoid16_for_test(const float* v, float* out, int n);
#endif
#if defined(__aarch64__)
// test_sigmoid_neon.cc: sigmoid4 over n floats (n a multiple of 16).
void sigmoid4_for_test(const float* v, float* out, int n);
#endif

namespace {

double libm_sigmoid(float v) { return 1.0 / (1.0 + std::exp(-static_cast<double>(v))); }

// Every 997th float from -100 to 100 (about 1.1 million values), and the edges.
std::vector<float> sweep() {
  std::vector<float> v;
  for (float x = -100.0f; x < 100.0f;) {
    v.push_back(x);
    uint32_t b = std::bit_cast<uint32_t>(x);
    // Walk the bit patterns: down towards 0 for negatives, up for positives.
    if (x < 0.0f) {
      b = b > 997 + 0x80000000u ? b - 997 : 0;
    } else {
      b += 997;
    }
    x = std::bit_cast<float>(b);
  }
  for (float e : {0.0f, -0.0f, 1e-30f, -1e-30f, 86.9f, 87.0f, 87.1f, -86.9f, -87.0f, -87.1f, 88.8f, -104.0f, 1e30f,
                  -1e30f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity()})
    v.push_back(e);
  return v;
}

TEST(Sigmoid, IsCloseToLibm) {
  double worst_rel = 0.0;
  float worst_at = 0.0f;
  for (const float v : sweep()) {
    const float got = sigmoid(v);
    const double want = libm_sigmoid(v);
    ASSERT_TRUE(std::isfinite(got)) << v;
    ASSERT_GE(got, 0.0f) << v;
    ASSERT_LE(got, 1.0f) << v;
    // Past the clamp the exact value is below 2e-38: hold the absolute error there.
    if (v < -87.0f) {
      ASSERT_LT(got, 2e-38f) << v;
      continue;
    }
    const double rel = std::abs(got - want) / want;
    if (rel > worst_rel) worst_rel = rel, worst_at = v;
  }
  // 4 units in the last place of a float (2^-23 each, relative).
  EXPECT_LT(worst_rel, 4 * 1.1920929e-7) << "at v = " << worst_at;
}

TEST(Sigmoid, NanGivesAFiniteValue) {
  const float s = sigmoid(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isfinite(s));
  EXPECT_LT(s, 2e-38f);  // the NaN clamps to the exp's upper bound
}

#if defined(__x86_64__) || defined(__aarch64__)
// Every sweep value, 100,000 random bit patterns (NaNs, infinities and denormals among them) and a
// NaN, padded to a multiple of 16.
std::vector<float> vector_inputs() {
  std::vector<float> v = sweep();
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) v.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  v.resize((v.size() + 15) / 16 * 16, 0.5f);
  return v;
}

void expect_equal_to_scalar(const std::vector<float>& v, const std::vector<float>& got) {
  for (size_t i = 0; i < v.size(); ++i) {
    const float want = sigmoid(v[i]);
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want)) << "v = " << v[i];
  }
}
#endif

#if defined(__x86_64__)
TEST(Sigmoid, Avx2FormEqualsTheScalarForm) {
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2 on this CPU";
  const std::vector<float> v = vector_inputs();
  std::vector<float> got(v.size());
  sigmoid8_for_test(v.data(), got.data(), static_cast<int>(v.size()));
  expect_equal_to_scalar(v, got);
}

TEST(Sigmoid, Avx512FormEqualsTheScalarForm) {
  if (!__builtin_cpu_supports("avx512f")) GTEST_SKIP() << "no AVX-512F on this CPU";
  const std::vector<float> v = vector_inputs();
  std::vector<float> got(v.size());
  sigmoid16_for_test(v.data(), got.data(), static_cast<int>(v.size()));
  expect_equal_to_scalar(v, got);
}
#endif

#if defined(__aarch64__)
TEST(Sigmoid, NeonFormEqualsTheScalarForm) {
  const std::vector<float> v = vector_inputs();
  std::vector<float> got(v.size());
  sigmoid4_for_test(v.data(), got.data(), static_cast<int>(v.size()));
  expect_equal_to_scalar(v, got);
}
#endif

}  // namespace
}  // namespace scales::bconv
