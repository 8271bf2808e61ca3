// The FP conv's precisions (fp/conv3x3.h): fp32 bands equal the whole map, the narrow conv (out
// <= 4), the wide convs' fp32 forms (Winograd's; oneDNN's direct one, or OpenBLAS on arm64) equal
// the definition, Winograd's bit for bit whatever the bands and threads, int8
// (oneDNN's, or on arm64 the NEON dot-product form) equals its plain reference (fp/quantize.h), bf16 stays within
// bf16's rounding of fp32, and the sub-pixel-major reordering (fp/subpixel.h) only moves channels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "fp/conv3x3.h"
#include "fp/conv3x3_winograd.h"
#include "fp/quantize.h"
#include "fp/subpixel.h"

using scales::fp::Conv3x3;
using scales::fp::ConvParams;
using scales::fp::Precision;

namespace {

// Channels with ranges 10x apart, as SR features have (the reason for per-channel input scales).
std::vector<float> feature_map(int h, int w, int c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(h) * w * c);
  for (size_t i = 0; i < x.size(); ++i) x[i] = n(rng) * (0.1f + 0.9f * static_cast<float>(i % c) / c);
  return x;
}

ConvParams random_conv(int out, int in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, std::sqrt(2.f / (9.f * in)));
  ConvParams p;
  p.out = out;
  p.in = in;
  p.weight.resize(static_cast<size_t>(out) * in * 9);
  for (auto& v : p.weight) v = n(rng);
  for (int o = 0; o < out; ++o) p.bias.push_back(0.01f * static_cast<float>(o % 7));
  return p;
}

std::vector<float> absmax_per_channel(const std::vector<float>& x, int c) {
  std::vector<float> m(c, 0.f);
  for (size_t i = 0; i < x.size(); ++i) m[i % c] = std::max(m[i % c], std::fabs(x[i]));
  return m;
}

float rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return static_cast<float>(std::sqrt(s / v.size()));
}

float rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i] - b[i]) * (a[i] - b[i]);
  return static_cast<float>(std::sqrt(s / a.size()));
}

constexpr int kH = 37, kW = 29, kIn = 64, kOut = 48;

// The conv's definition in double, border pixels included: each output within float rounding of
// the sum of its terms' magnitudes.
void expect_definition(const std::vector<float>& got, const std::vector<float>& x, const ConvParams& p, int h, int w) {
  const int in = p.in, out = p.out;
  for (int y = 0; y < h; ++y)
    for (int xx = 0; xx < w; ++xx)
      for (int o = 0; o < out; ++o) {
        double want = p.bias[o], mag = 0;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int yy = y + ky - 1, xs = xx + kx - 1;
            if (yy < 0 || yy >= h || xs < 0 || xs >= w) continue;
            for (int c = 0; c < in; ++c) {
              const double t = double(p.weight[(static_cast<size_t>(o) * in + c) * 9 + ky * 3 + kx]) *
                               x[(static_cast<size_t>(yy) * w + xs) * in + c];
              want += t;
              mag += std::fabs(t);
            }
          }
        ASSERT_NEAR(got[(static_cast<size_t>(y) * w + xx) * out + o], want, 1e-5 * (mag + 1e-3))
            << "y=" << y << " x=" << xx << " o=" << o;
      }
}

// A recorded low precision runs as recorded for one scope. On x86: SCALES_FP_CONV=onednn, oneDNN's
// direct conv in every precision and no Winograd form to take its place. On arm64 nothing: the
// NEON forms keep their place beside the Winograd form (and forcing oneDNN would drop them).
struct KeepRecordedPrecision {
#if defined(__aarch64__)
  KeepRecordedPrecision() {}
#else
  KeepRecordedPrecision() { setenv("SCALES_FP_CONV", "onednn", 1); }
  ~KeepRecordedPrecision() { unsetenv("SCALES_FP_CONV"); }
#endif
};

}  // namespace

TEST(FpConv, Fp32BandsEqualTheWholeMap) {
  const auto x = feature_map(kH, kW, kIn, 1);
  Conv3x3 conv(random_conv(kOut, kIn, 2));
  std::vector<float> whole(static_cast<size_t>(kH) * kW * kOut), banded(whole.size());
  conv.run(x.data(), kH, kW, whole.data(), 2);
  for (int r0 = 0; r0 < kH; r0 += 5) {
    const int r1 = std::min(kH, r0 + 5);
    conv.run_rows(x.data(), kH, kW, r0, r1, banded.data() + static_cast<size_t>(r0) * kW * kOut, 2);
  }
  const float scale = rms(whole);
  for (size_t i = 0; i < whole.size(); ++i) ASSERT_NEAR(whole[i], banded[i], 1e-5f * scale) << "at " << i;
}

// The primitive cache keeps a shape in use: a server's full-tile shape, used every call, stays
// while edge bands of ever new image widths come and go (least recently used out). When the
// cache was cleared whole at 32 shapes, the hot one was rebuilt after each 32 new ones. (oneDNN's
// conv forced: on arm64 the fp32 conv is OpenBLAS's, which keeps no primitives.)
TEST(FpConv, TheShapeInUseSurvivesManyNewShapes) {
  setenv("SCALES_FP_CONV", "onednn", 1);
  Conv3x3 conv(random_conv(kOut, kIn, 3));
  unsetenv("SCALES_FP_CONV");
  ASSERT_STREQ(conv.fp32_path(), "onednn");
  const int hot_w = 16, h = 4, cold = 80;
  const auto x = feature_map(h, hot_w + cold, kIn, 4);
  std::vector<float> out(static_cast<size_t>(h) * (hot_w + cold) * kOut), first(static_cast<size_t>(h) * hot_w * kOut);
  conv.run(x.data(), h, hot_w, first.data(), 1);
  for (int i = 1; i <= cold; ++i) {
    conv.run(x.data(), h, hot_w + i, out.data(), 1);  // a shape seen once
    conv.run(x.data(), h, hot_w, out.data(), 1);      // the hot one again
  }
  EXPECT_EQ(conv.primitives_built(), static_cast<size_t>(1 + cold));
  // The kept entry still computes what it did at first.
  for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(out[i], first[i]) << "at " << i;
}

// The narrow conv (out <= 4: the engine's own kernel, fp/conv3x3_narrow.h) against the plain
// definition in double, border pixels included, on channel counts with and without its 4-pixel
// x 16-channel blocks, widths too narrow for a block, and bands; it ignores a recorded precision.
TEST(FpConv, NarrowEqualsTheDefinition) {
  for (int in : {64, 48, 20, 1})
    for (int out : {1, 3, 4})
      for (int w : {1, 5, 6, 29}) {
        SCOPED_TRACE("in=" + std::to_string(in) + " out=" + std::to_string(out) + " w=" + std::to_string(w));
        const int h = 7;
        const auto x = feature_map(h, w, in, 3 + in + w);
        ConvParams p = random_conv(out, in, 4 + out);
        p.precision = Precision::bf16;  // recorded, but a narrow conv computes in fp32
        Conv3x3 conv(p);
        EXPECT_EQ(conv.precision(), Precision::fp32);
        std::vector<float> got(static_cast<size_t>(h) * w * out), banded(got.size());
        conv.run(x.data(), h, w, got.data(), 2);
        for (int r0 = 0; r0 < h; r0 += 3) {
          const int r1 = std::min(h, r0 + 3), s0 = std::max(0, r0 - 1);
          conv.run_rows_of_band(x.data() + static_cast<size_t>(s0) * w * in, h, w, r0, r1,
                                banded.data() + static_cast<size_t>(r0) * w * out, 2);
        }
        EXPECT_EQ(got, banded) << "bands must equal the whole map exactly";
        expect_definition(got, x, p, h, w);
      }
}

// The wide convs' fp32 forms (Winograd's where both sides have at least 32 channels, and for the
// one-row bands below, which see only their rows, oneDNN's JIT kernels on x86; on arm64, where
// Debian's oneDNN has only its reference GEMM, im2col + OpenBLAS: fp/conv3x3_blas.h) equal the definition: the shipped
// models' shapes (3 -> C head, C -> 4C upsampler, C -> C) and odd ones, as a whole map and as
// bands one row high. The last shape takes three of the OpenBLAS form's chunks (455 pixels at 64
// channels), split mid-row, and its one-row bands are split between the two threads.
TEST(FpConv, WideFp32EqualsTheDefinition) {
  struct Shape {
    int in, out, h, w;
  };
  for (const Shape s :
       {Shape{3, 48, 9, 13}, Shape{48, 192, 5, 17}, Shape{64, 64, 6, 11}, Shape{20, 36, 4, 1}, Shape{64, 48, 8, 151}}) {
    SCOPED_TRACE("in=" + std::to_string(s.in) + " out=" + std::to_string(s.out) + " w=" + std::to_string(s.w));
    const auto x = feature_map(s.h, s.w, s.in, 11 + s.in);
    const ConvParams p = random_conv(s.out, s.in, 12 + s.out);
    Conv3x3 conv(p);
#if defined(__aarch64__)
    const char* direct = "blas";
#else
    const char* direct = "onednn";
#endif
    EXPECT_STREQ(conv.fp32_path(), scales::fp::WinogradConv3x3::pays(s.in, s.out) ? "winograd" : direct);
    std::vector<float> got(static_cast<size_t>(s.h) * s.w * s.out), banded(got.size());
    conv.run(x.data(), s.h, s.w, got.data(), 2);
    expect_definition(got, x, p, s.h, s.w);
    for (int r = 0; r < s.h; ++r)
      conv.run_rows_of_band(x.data() + static_cast<size_t>(std::max(0, r - 1)) * s.w * s.in, s.h, s.w, r, r + 1,
                            banded.data() + static_cast<size_t>(r) * s.w * s.out, 2);
    expect_definition(banded, x, p, s.h, s.w);
  }
}

// SCALES_FP_CONV=onednn keeps oneDNN's conv (for timing one form against the other), and it
// computes the same conv.
TEST(FpConv, OnednnCanBeForced) {
  const int h = 5, w = 7, in = 16, out = 24;
  const auto x = feature_map(h, w, in, 13);
  const ConvParams p = random_conv(out, in, 14);
  setenv("SCALES_FP_CONV", "onednn", 1);
  Conv3x3 conv(p);
  unsetenv("SCALES_FP_CONV");
  EXPECT_STREQ(conv.fp32_path(), "onednn");
  std::vector<float> got(static_cast<size_t>(h) * w * out);
  conv.run(x.data(), h, w, got.data(), 2);
  expect_definition(got, x, p, h, w);
}

// The int8 form (on x86 oneDNN's, kept: where it lacks VNNI the Winograd fp32 form would take its place).
TEST(FpConv, Int8MatchesItsReferenceAndStaysNearFp32) {
  const KeepRecordedPrecision keep;
  const auto x = feature_map(kH, kW, kIn, 3);
  ConvParams p = random_conv(kOut, kIn, 4);
  std::vector<float> f32(static_cast<size_t>(kH) * kW * kOut), q8(f32.size()), ref(f32.size());
  Conv3x3(p).run(x.data(), kH, kW, f32.data(), 2);
  p.precision = Precision::int8;
  p.input_absmax = absmax_per_channel(x, kIn);
  Conv3x3 conv(p);
#if defined(__aarch64__)
  // arm64 with SDOT runs the engine's own int8 conv (qemu's default CPU has it).
  if (scales::fp::NeonConv3x3::available(Precision::int8)) EXPECT_STREQ(conv.low_precision_path(), "neon");
#endif
  if (conv.precision() != Precision::int8) GTEST_SKIP() << "this CPU has no native int8 conv";
  conv.run(x.data(), kH, kW, q8.data(), 2);
  const auto q = scales::fp::quantize_conv(p);
  scales::fp::int8_conv_reference(q, p, x.data(), kH, kW, ref.data());
  // The same integers and scales: equal up to float rounding of the final multiply-add, except
  // where oneDNN halves the weights to avoid 16-bit saturation (CPUs without VNNI: measured 2.5%
  // rms here, against 0.6% with VNNI). A wrong bias or scale convention is off by 100s of %.
  const float scale = rms(f32);
  EXPECT_LT(rms_diff(q8, ref), 0.03f * scale);
  // int8 with per-channel input scales: within 4% of fp32 (rms; 1.3% with VNNI, 2.8% without), and
  // not exactly fp32.
  const float err = rms_diff(q8, f32);
  EXPECT_LT(err, 0.04f * scale);
  EXPECT_GT(err, 0.f);
  // A low_precision = false call is the fp32 conv.
  std::vector<float> forced(f32.size());
  conv.run(x.data(), kH, kW, forced.data(), 2, /*low_precision=*/false);
  EXPECT_EQ(rms_diff(forced, f32), 0.f);
}

#if defined(__aarch64__)
// The arm64 int8 conv on NEON dot products (fp/conv3x3_int8_neon.h) computes the same integers as
// the plain reference, so it equals it up to the rounding of the final multiply-add (a fused one
// here): the shipped shapes (3 -> C head, C -> 4C upsampler, C -> C) and odd ones: 20 -> 36 has a
// window row of 180 bytes (padded to 192) and a last panel of 4 outputs; 64 -> 48 at 8 x 151 takes
// three chunks (448 pixels at 576 bytes), the last one not a whole tile. Each as a whole map and
// as one-row bands over two threads.
TEST(FpConv, Int8NeonEqualsItsReference) {
  if (!scales::fp::NeonConv3x3::available(Precision::int8)) GTEST_SKIP() << "this CPU has no SDOT";
  struct Shape {
    int in, out, h, w;
  };
  for (const Shape s : {Shape{3, 48, 9, 13}, Shape{48, 192, 5, 17}, Shape{64, 64, 6, 11}, Shape{20, 36, 4, 1},
                        Shape{20, 36, 3, 9}, Shape{64, 48, 8, 151}}) {
    SCOPED_TRACE("in=" + std::to_string(s.in) + " out=" + std::to_string(s.out) + " w=" + std::to_string(s.w));
    const auto x = feature_map(s.h, s.w, s.in, 21 + s.in);
    ConvParams p = random_conv(s.out, s.in, 22 + s.out);
    p.precision = Precision::int8;
    p.input_absmax = absmax_per_channel(x, s.in);
    // Ranges below the map's own: some inputs saturate at +-127, as they may in use.
    for (int c = 0; c < s.in; c += 3) p.input_absmax[c] *= 0.5f;
    Conv3x3 conv(p);
    ASSERT_EQ(conv.precision(), Precision::int8);
    ASSERT_STREQ(conv.low_precision_path(), "neon");
    std::vector<float> ref(static_cast<size_t>(s.h) * s.w * s.out), got(ref.size()), banded(ref.size());
    scales::fp::int8_conv_reference(scales::fp::quantize_conv(p), p, x.data(), s.h, s.w, ref.data());
    conv.run(x.data(), s.h, s.w, got.data(), 2);
    for (int r = 0; r < s.h; ++r)
      conv.run_rows_of_band(x.data() + static_cast<size_t>(std::max(0, r - 1)) * s.w * s.in, s.h, s.w, r, r + 1,
                            banded.data() + static_cast<size_t>(r) * s.w * s.out, 2);
    const float tol = 1e-5f * rms(ref);  // one wrong product is about rms / sqrt(9 * in), 1e3 times this
    int bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (std::fabs(got[i] - ref[i]) > tol + 1e-6f * std::fabs(ref[i]) && ++bad <= 3)
        ADD_FAILURE() << "whole map, element " << i << ": " << got[i] << " vs " << ref[i];
      if (std::fabs(banded[i] - ref[i]) > tol + 1e-6f * std::fabs(ref[i]) && ++bad <= 3)
        ADD_FAILURE() << "one-row bands, element " << i << ": " << banded[i] << " vs " << ref[i];
    }
    EXPECT_EQ(bad, 0);
  }
}

// Which code runs a conv recorded as int8 or bf16 follows the CPU: the NEON form where it has the
// dot product (SDOT, BFDOT), else oneDNN where it has a native conv (int8 with 512-bit SVE), else
// fp32, which then equals the fp32 conv. tests/engine/CMakeLists.txt also runs this under qemu as
// a Cortex-A72 (Armv8.0: neither) and a Neoverse N1 (SDOT, no BF16).
TEST(FpConv, LowPrecisionPathFollowsTheCpu) {
  const int h = 6, w = 10, in = 32, out = 40;
  const auto x = feature_map(h, w, in, 31);
  ConvParams p = random_conv(out, in, 32);
  std::vector<float> f32(static_cast<size_t>(h) * w * out), got(f32.size());
  Conv3x3(p).run(x.data(), h, w, f32.data(), 2);
  p.input_absmax = absmax_per_channel(x, in);
  for (Precision prec : {Precision::int8, Precision::bf16}) {
    SCOPED_TRACE(scales::fp::to_string(prec));
    p.precision = prec;
    Conv3x3 conv(p);
    conv.run(x.data(), h, w, got.data(), 2);
    if (scales::fp::NeonConv3x3::available(prec)) {
      EXPECT_EQ(conv.precision(), prec);
      EXPECT_STREQ(conv.low_precision_path(), "neon");
      EXPECT_GT(rms_diff(got, f32), 0.f);
    } else if (conv.precision() == Precision::fp32) {
      EXPECT_STREQ(conv.low_precision_path(), "none");
      EXPECT_EQ(rms_diff(got, f32), 0.f);
    } else {
      EXPECT_STREQ(conv.low_precision_path(), "onednn");
    }
    EXPECT_LT(rms_diff(got, f32), 0.04f * rms(f32));
    // SCALES_FP_CONV=onednn keeps oneDNN for low precision as well.
    setenv("SCALES_FP_CONV", "onednn", 1);
    Conv3x3 forced(p);
    unsetenv("SCALES_FP_CONV");
    EXPECT_STRNE(forced.low_precision_path(), "neon");
  }
}

// The bf16 form on BFDOT: inputs and weights rounded to bf16 (nearest even), sums in fp32. It
// equals the same rounding summed in double up to fp32 sums (BFDOT's own partial-sum rounding),
// while a value not rounded to bf16 is off by about 2^-9 of it: the tolerance sits between.
TEST(FpConv, Bf16NeonEqualsItsReference) {
  if (!scales::fp::NeonConv3x3::available(Precision::bf16)) GTEST_SKIP() << "this CPU has no BFDOT";
  auto bf16 = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    std::memcpy(&f, &u, 4);
    return f;
  };
  struct Shape {
    int in, out, h, w;
  };
  for (const Shape s : {Shape{3, 48, 9, 13}, Shape{48, 192, 5, 17}, Shape{20, 36, 3, 9}, Shape{64, 48, 8, 151}}) {
    SCOPED_TRACE("in=" + std::to_string(s.in) + " out=" + std::to_string(s.out) + " w=" + std::to_string(s.w));
    const auto x = feature_map(s.h, s.w, s.in, 41 + s.in);
    ConvParams p = random_conv(s.out, s.in, 42 + s.out);
    p.precision = Precision::bf16;
    Conv3x3 conv(p);
    ASSERT_EQ(conv.precision(), Precision::bf16);
    ASSERT_STREQ(conv.low_precision_path(), "neon");
    std::vector<float> got(static_cast<size_t>(s.h) * s.w * s.out), banded(got.size());
    conv.run(x.data(), s.h, s.w, got.data(), 2);
    for (int r = 0; r < s.h; ++r)
      conv.run_rows_of_band(x.data() + static_cast<size_t>(std::max(0, r - 1)) * s.w * s.in, s.h, s.w, r, r + 1,
                            banded.data() + static_cast<size_t>(r) * s.w * s.out, 2);
    ConvParams pr = p;
    for (auto& v : pr.weight) v = bf16(v);
    std::vector<float> xr(x.size());
    std::transform(x.begin(), x.end(), xr.begin(), bf16);
    double worst = 0, scale = 0;
    for (int y = 0; y < s.h; ++y)
      for (int xx = 0; xx < s.w; ++xx)
        for (int o = 0; o < s.out; ++o) {
          double ref = pr.bias[o];
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = y + ky - 1, ix = xx + kx - 1;
              if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
              for (int i = 0; i < s.in; ++i)
                ref += static_cast<double>(xr[(static_cast<size_t>(iy) * s.w + ix) * s.in + i]) *
                       pr.weight[((static_cast<size_t>(o) * s.in + i) * 3 + ky) * 3 + kx];
            }
          const size_t at = (static_cast<size_t>(y) * s.w + xx) * s.out + o;
          worst = std::max({worst, std::fabs(got[at] - ref), std::fabs(banded[at] - ref)});
          scale += ref * ref;
        }
    scale = std::sqrt(scale / got.size());
    EXPECT_LT(worst, 5e-5 * scale) << "rms " << scale;
  }
}
#endif

// The bf16 form (on x86 oneDNN's, kept: the Winograd fp32 form takes its place otherwise).
TEST(FpConv, Bf16StaysNearFp32) {
  const KeepRecordedPrecision keep;
  const auto x = feature_map(kH, kW, kIn, 5);
  ConvParams p = random_conv(kOut, kIn, 6);
  std::vector<float> f32(static_cast<size_t>(kH) * kW * kOut), b16(f32.size());
  Conv3x3(p).run(x.data(), kH, kW, f32.data(), 2);
  p.precision = Precision::bf16;
  Conv3x3 conv(p);
#if defined(__aarch64__)
  if (scales::fp::NeonConv3x3::available(Precision::bf16)) EXPECT_STREQ(conv.low_precision_path(), "neon");
#endif
  if (conv.precision() != Precision::bf16) GTEST_SKIP() << "this CPU has no native bf16 conv (AVX512-BF16)";
  conv.run(x.data(), kH, kW, b16.data(), 2);
  const float scale = rms(f32), err = rms_diff(b16, f32);
  EXPECT_LT(err, 0.01f * scale);  // bf16 keeps 8 bits of mantissa; sums stay fp32
  EXPECT_GT(err, 0.f);
}

// Winograd's F(4x4, 3x3) (fp/conv3x3_winograd.h) against the definition in double: map sizes that
// are and are not multiples of the 4x4 tile (a partial tile at the right and bottom edges, a
// 1 x 1 map that is all padding around one pixel), channel counts off the vector widths, and the
// upsampler's 64 -> 256.
TEST(FpConv, WinogradEqualsTheDefinition) {
  struct Shape {
    int in, out, h, w;
  };
  for (const Shape s :
       {Shape{32, 32, 8, 8}, Shape{64, 256, 13, 22}, Shape{48, 40, 1, 1}, Shape{33, 65, 9, 6}, Shape{60, 240, 5, 3}}) {
    SCOPED_TRACE("in=" + std::to_string(s.in) + " out=" + std::to_string(s.out) + " h=" + std::to_string(s.h) +
                 " w=" + std::to_string(s.w));
    const auto x = feature_map(s.h, s.w, s.in, 41 + s.in);
    const ConvParams p = random_conv(s.out, s.in, 42 + s.out);
    Conv3x3 conv(p);
    ASSERT_STREQ(conv.fp32_path(), "winograd");
    std::vector<float> got(static_cast<size_t>(s.h) * s.w * s.out);
    conv.run(x.data(), s.h, s.w, got.data(), 2);
    expect_definition(got, x, p, s.h, s.w);
  }
}

// Tiles sit on a grid fixed to the map, so bands of any height, on any number of threads,
// compute every pixel exactly as the whole map does (bands of 5 and 3 rows cut through tiles).
TEST(FpConv, WinogradBandsAndThreadsEqualTheWholeMapExactly) {
  const auto x = feature_map(kH, kW, kIn, 43);
  Conv3x3 conv(random_conv(kOut, kIn, 44));
  ASSERT_STREQ(conv.fp32_path(), "winograd");
  std::vector<float> whole(static_cast<size_t>(kH) * kW * kOut);
  conv.run(x.data(), kH, kW, whole.data(), 2);
  for (int band : {5, 3, 4})
    for (int threads : {1, 2}) {
      SCOPED_TRACE("band=" + std::to_string(band) + " threads=" + std::to_string(threads));
      std::vector<float> banded(whole.size(), -1.f);
      for (int r0 = 0; r0 < kH; r0 += band)
        conv.run_rows(x.data(), kH, kW, r0, std::min(kH, r0 + band),
                      banded.data() + static_cast<size_t>(r0) * kW * kOut, threads);
      EXPECT_EQ(0, std::memcmp(whole.data(), banded.data(), whole.size() * sizeof(float)));
    }
}

// SCALES_FP_CONV=direct drops the Winograd form and only it: the platform's direct form (oneDNN's on
// x86, OpenBLAS's on arm64) runs, and computes the same conv.
TEST(FpConv, WinogradCanBeLeftOut) {
  const int h = 6, w = 9;
  const auto x = feature_map(h, w, kIn, 47);
  const ConvParams p = random_conv(kOut, kIn, 48);
  setenv("SCALES_FP_CONV", "direct", 1);
  Conv3x3 conv(p);
  unsetenv("SCALES_FP_CONV");
#if defined(__aarch64__)
  EXPECT_STREQ(conv.fp32_path(), "blas");
#else
  EXPECT_STREQ(conv.fp32_path(), "onednn");
#endif
  std::vector<float> got(static_cast<size_t>(h) * w * kOut);
  conv.run(x.data(), h, w, got.data(), 2);
  expect_definition(got, x, p, h, w);
}

// Where a conv has the Winograd form, a recorded bf16 runs it in fp32 on x86 (it outran oneDNN's
// bf16), and whatever runs, the precision reported is the one computed: an fp32 result equals the
// fp32 conv's exactly.
TEST(FpConv, WinogradTakesOverWhereItIsFaster) {
  const int h = 9, w = 14;
  const auto x = feature_map(h, w, kIn, 45);
  ConvParams p = random_conv(kOut, kIn, 46);
  std::vector<float> f32(static_cast<size_t>(h) * w * kOut), got(f32.size());
  Conv3x3(p).run(x.data(), h, w, f32.data(), 2);
  p.input_absmax = absmax_per_channel(x, kIn);
  for (Precision prec : {Precision::bf16, Precision::int8}) {
    SCOPED_TRACE(scales::fp::to_string(prec));
    p.precision = prec;
    Conv3x3 conv(p);
    EXPECT_STREQ(conv.fp32_path(), "winograd");
    conv.run(x.data(), h, w, got.data(), 2);
#if !defined(__aarch64__)
    if (prec == Precision::bf16) EXPECT_EQ(conv.precision(), Precision::fp32);
#endif
    if (conv.precision() == Precision::fp32) {
      EXPECT_STREQ(conv.low_precision_path(), "none");
      EXPECT_EQ(0, std::memcmp(got.data(), f32.data(), f32.size() * sizeof(float)));
    } else {
      EXPECT_GT(rms_diff(got, f32), 0.f);
    }
  }
}

TEST(FpConv, Int8WithoutRangesRunsFp32) {
  ConvParams p = random_conv(kOut, kIn, 7);
  p.precision = Precision::int8;  // no input_absmax: nothing to quantize with
  EXPECT_EQ(Conv3x3(p).precision(), Precision::fp32);
}

TEST(FpConv, SubpixelMajorOnlyMovesChannels) {
  const int r = 2, c = 5;
  ConvParams p = random_conv(r * r * c, 3, 8);
  const ConvParams s = scales::fp::subpixel_major(p, r);
  for (int ch = 0; ch < c; ++ch)
    for (int sp = 0; sp < r * r; ++sp) {
      const int from = ch * r * r + sp, to = sp * c + ch;
      EXPECT_EQ(s.bias[to], p.bias[from]);
      for (int k = 0; k < 3 * 9; ++k) EXPECT_EQ(s.weight[to * 27 + k], p.weight[from * 27 + k]);
    }
}
