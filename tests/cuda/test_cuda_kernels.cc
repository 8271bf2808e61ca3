// Every CUDA kernel against its CPU counterpart on random inputs of several shapes: sign packing
// and spatial factors, channel sums and factors, the reference conv (exact integers), the
// epilogue and the fused tensor-core conv (bit for bit equal to the CPU's floats). Outputs are
// poisoned before each launch, so an unwritten value fails.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bconv/bconv3x3_ref.h"
#include "bconv/epilogue.h"
#include "bconv/pack.h"
#include "bconv/params.h"
#include "cuda/bmma_weights.h"
#include "cuda/kernels.h"
#include "cuda_test_util.h"

namespace scales {
namespace {

using testing::Dev;

struct Shape {
  int n, h, w, c;
};

std::vector<Shape> shapes() {
  return {{1, 1, 1, 8},    {2, 5, 37, 64},  {1, 17, 70, 64}, {3, 6, 33, 96},
          {1, 9, 40, 128}, {2, 4, 35, 200}, {1, 3, 9, 30}};
}

struct Case {
  Shape s;
  std::mt19937 rng;
  std::vector<float> x, shift, spatial_w, gk, prelu, cfac;
  std::vector<uint64_t> wbits;
  int words;

  Case(Shape sh, uint32_t seed) : s(sh), rng(seed), words((sh.c + 63) / 64) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    x.resize(size_t(s.n) * s.h * s.w * s.c);
    for (auto& v : x) v = nd(rng);
    shift.resize(s.c);
    spatial_w.resize(s.c);
    gk.resize(s.c);
    prelu.resize(s.c);
    cfac.resize(size_t(s.n) * s.c);
    for (auto& v : shift) v = 0.3f * nd(rng);
    for (auto& v : spatial_w) v = 0.2f * nd(rng);
    for (auto& v : gk) v = 0.05f * std::abs(nd(rng));
    for (auto& v : prelu) v = 0.25f * nd(rng);
    for (auto& v : cfac) v = 1.0f / (1.0f + std::exp(-nd(rng)));
    wbits.resize(size_t(s.c) * 9 * words);
    std::uniform_int_distribution<uint64_t> bits;
    for (int o = 0; o < s.c; ++o)
      for (int t = 0; t < 9; ++t)
        for (int k = 0; k < words; ++k) {
          const int valid = std::min(64, s.c - 64 * k);
          const uint64_t mask = valid == 64 ? ~uint64_t{0} : ((uint64_t{1} << valid) - 1);
          wbits[(size_t(o) * 9 + t) * words + k] = bits(rng) & mask;
        }
  }
  size_t item_floats() const { return size_t(s.h) * s.w * s.c; }
  size_t packed_words() const { return size_t(s.n) * (s.h + 2) * (s.w + 2) * words; }
  // The CPU's packed map of item i (with shift).
  bconv::PackedMap cpu_packed(int i) const {
    bconv::PackedMap m;
    bconv::pack_signs(x.data() + i * item_floats(), s.h, s.w, s.c, shift.data(), m);
    return m;
  }
  // The CPU's integer conv outputs of item i, (h, w, c).
  std::vector<int32_t> cpu_ybin(int i) const {
    std::vector<int32_t> y(size_t(s.h) * s.w * s.c);
    bconv::bconv3x3_ref(cpu_packed(i), wbits.data(), s.c, s.c, y.data());
    return y;
  }
  // The CPU epilogue over item i's rows (spatial factors given per pixel).
  std::vector<float> cpu_epilogue(int i, const std::vector<int32_t>& ybin, const std::vector<float>& s_item) const {
    std::vector<float> z(x.begin() + i * item_floats(), x.begin() + (i + 1) * item_floats());
    for (int y = 0; y < s.h; ++y) {
      const size_t row = size_t(y) * s.w;
      bconv::epilogue_row(gk.data(), s_item.data() + row, cfac.data() + size_t(i) * s.c, ybin.data() + row * s.c,
                          prelu.data(), s.w, s.c, z.data() + row * s.c);
    }
    return z;
  }
};

std::vector<uint64_t> packed_on_gpu(const Case& k, Dev<float>& x, Dev<float>* s_out) {
  Dev<uint64_t> packed(k.packed_words());
  SCALES_CUDA_CHECK(cudaMemset(packed.p, 0, packed.n * sizeof(uint64_t)));
  Dev<float> shift(k.shift), sw(k.spatial_w);
  cuda::pack_signs(x.p, k.s.n, k.s.h, k.s.w, k.s.c, shift.p, sw.p, 0.1f, packed.p, s_out ? s_out->p : nullptr, 0);
  return packed.get();
}

TEST(CudaKernels, PackAndSpatialFactorsMatchTheCpu) {
  SCALES_REQUIRE_GPU();
  uint32_t seed = 1;
  for (const Shape& sh : shapes()) {
    Case k(sh, seed++);
    Dev<float> x(k.x), s(size_t(sh.n) * sh.h * sh.w);
    const auto gpu = packed_on_gpu(k, x, &s);
    const auto sv = s.get();
    for (int i = 0; i < sh.n; ++i) {
      const auto cpu = k.cpu_packed(i);
      const size_t per = cpu.bits.size();
      ASSERT_EQ(per * sh.n, gpu.size());
      for (size_t j = 0; j < per; ++j) ASSERT_EQ(cpu.bits[j], gpu[i * per + j]) << "item " << i << " word " << j;
      for (int p = 0; p < sh.h * sh.w; ++p) {
        double d = 0.1;
        for (int c = 0; c < sh.c; ++c) d += double(k.spatial_w[c]) * k.x[i * k.item_floats() + size_t(p) * sh.c + c];
        ASSERT_NEAR(sv[size_t(i) * sh.h * sh.w + p], 1.0 / (1.0 + std::exp(-d)), 2e-6);
      }
    }
  }
}

TEST(CudaKernels, ChannelSumsAndFactorsMatchTheCpu) {
  SCALES_REQUIRE_GPU();
  uint32_t seed = 50;
  for (const Shape& sh : shapes()) {
    Case k(sh, seed++);
    bconv::ScalesParams rc;
    rc.hidden = std::max(4, sh.c / 8);
    rc.weight_scale.assign(sh.c, 1.0f);
    std::normal_distribution<float> nd(0.0f, 0.3f);
    for (auto* v : {&rc.fc1_w, &rc.fc1_b, &rc.fc2_w, &rc.fc2_b}) v->clear();
    for (int j = 0; j < rc.hidden * sh.c; ++j) rc.fc1_w.push_back(nd(k.rng)), rc.fc2_w.push_back(nd(k.rng));
    for (int j = 0; j < rc.hidden; ++j) rc.fc1_b.push_back(nd(k.rng));
    for (int j = 0; j < sh.c; ++j) rc.fc2_b.push_back(nd(k.rng));
    // A rectangle per item: the whole map for item 0, a clipped one for the others.
    std::vector<int4> rects;
    std::vector<double> pixels;
    for (int i = 0; i < sh.n; ++i) {
      const int4 r = i == 0 ? int4{0, 0, sh.w, sh.h} : int4{1, std::min(1, sh.h - 1), sh.w, sh.h};
      rects.push_back(r);
      pixels.push_back(double(r.z - r.x) * (r.w - r.y));
    }
    Dev<float> x(k.x), f1w(rc.fc1_w), f1b(rc.fc1_b), f2w(rc.fc2_w), f2b(rc.fc2_b), cf(size_t(sh.n) * sh.c);
    Dev<int4> dr(rects);
    Dev<double> dp(pixels), sums(size_t(sh.n) * sh.c), partial(size_t(sh.n) * cuda::sum_bands(sh.h) * sh.c);
    cuda::channel_sums(x.p, sh.n, sh.h, sh.w, sh.c, dr.p, partial.p, sums.p, 0);
    cuda::channel_factors(sums.p, dp.p, f1w.p, f1b.p, f2w.p, f2b.p, sh.n, sh.c, rc.hidden, cf.p, 0);
    const auto gs = sums.get();
    const auto gc = cf.get();
    for (int i = 0; i < sh.n; ++i) {
      std::vector<double> cpu(sh.c, 0.0);
      for (int y = rects[i].y; y < rects[i].w; ++y)
        for (int xx = rects[i].x; xx < rects[i].z; ++xx)
          for (int c = 0; c < sh.c; ++c) cpu[c] += k.x[i * k.item_floats() + (size_t(y) * sh.w + xx) * sh.c + c];
      for (int c = 0; c < sh.c; ++c) ASSERT_NEAR(gs[size_t(i) * sh.c + c], cpu[c], 1e-9 * (1 + std::abs(cpu[c])));
      const auto cfac = bconv::channel_factors(rc, cpu, pixels[i]);
      for (int c = 0; c < sh.c; ++c) ASSERT_NEAR(gc[size_t(i) * sh.c + c], cfac[c], 1e-6);
    }
  }
}

TEST(CudaKernels, ReferenceConvEqualsTheCpuExactly) {
  SCALES_REQUIRE_GPU();
  uint32_t seed = 100;
  for (const Shape& sh : shapes()) {
    Case k(sh, seed++);
    Dev<float> x(k.x);
    Dev<uint64_t> packed(packed_on_gpu(k, x, nullptr)), wb(k.wbits);
    Dev<int32_t> ybin(size_t(sh.n) * sh.h * sh.w * sh.c);  // poisoned
    cuda::bconv3x3_ref(packed.p, sh.n, sh.h, sh.w, k.words, wb.p, sh.c, sh.c, ybin.p, 0);
    const auto g = ybin.get();
    for (int i = 0; i < sh.n; ++i) {
      const auto cpu = k.cpu_ybin(i);
      for (size_t j = 0; j < cpu.size(); ++j)
        ASSERT_EQ(g[i * cpu.size() + j], cpu[j]) << "c=" << sh.c << " item " << i << " value " << j;
    }
  }
}

// The GPU epilogue (reference path) and the fused tensor-core conv both give the CPU's floats.
TEST(CudaKernels, EpilogueAndFusedTensorCoreConvEqualTheCpuBitForBit) {
  SCALES_REQUIRE_GPU();
  uint32_t seed = 200;
  for (const Shape& sh : shapes()) {
    Case k(sh, seed++);
    Dev<float> x(k.x), s(size_t(sh.n) * sh.h * sh.w);
    Dev<uint64_t> packed(packed_on_gpu(k, x, &s)), wb(k.wbits);
    const auto sv = s.get();
    Dev<float> gk(k.gk), cfac(k.cfac), prelu(k.prelu);
    std::vector<std::vector<float>> want(sh.n);
    for (int i = 0; i < sh.n; ++i) {
      std::vector<float> s_item(sv.begin() + size_t(i) * sh.h * sh.w, sv.begin() + size_t(i + 1) * sh.h * sh.w);
      want[i] = k.cpu_epilogue(i, k.cpu_ybin(i), s_item);
    }
    auto check = [&](const std::vector<float>& got, const char* what) {
      for (int i = 0; i < sh.n; ++i)
        for (size_t j = 0; j < want[i].size(); ++j)
          ASSERT_TRUE(testing::same_bits(got[i * want[i].size() + j], want[i][j]))
              << what << " c=" << sh.c << " item " << i << " value " << j << ": " << got[i * want[i].size() + j]
              << " vs " << want[i][j];
    };
    {
      Dev<int32_t> ybin(size_t(sh.n) * sh.h * sh.w * sh.c);
      Dev<float> z(k.x);
      cuda::bconv3x3_ref(packed.p, sh.n, sh.h, sh.w, k.words, wb.p, sh.c, sh.c, ybin.p, 0);
      cuda::bconv_epilogue(ybin.p, gk.p, s.p, cfac.p, prelu.p, sh.n, sh.h, sh.w, sh.c, z.p, 0);
      check(z.get(), "reference + epilogue");
    }
    if (cuda::bmma_supported(sh.c)) {
      int dev = 0, major = 0;
      SCALES_CUDA_CHECK(cudaGetDevice(&dev));
      SCALES_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
      if (major < 8) continue;
      const cuda::BmmaWeights bw = cuda::make_bmma_weights(k.wbits, sh.c, k.words);
      Dev<uint64_t> dc(bw.chunks);
      Dev<int> dp(bw.popc);
      Dev<float> z(k.x);
      cuda::bconv3x3_bmma(packed.p, sh.n, sh.h, sh.w, k.words, dc.p, dp.p, sh.c, sh.c, gk.p, s.p, cfac.p, prelu.p, z.p,
                          0);
      check(z.get(), "bmma");
      // Without the optional factors too (null s, cfac, prelu).
      Dev<float> z2(k.x);
      cuda::bconv3x3_bmma(packed.p, sh.n, sh.h, sh.w, k.words, dc.p, dp.p, sh.c, sh.c, gk.p, nullptr, nullptr, nullptr,
                          z2.p, 0);
      Dev<int32_t> ybin(size_t(sh.n) * sh.h * sh.w * sh.c);
      Dev<float> z3(k.x);
      cuda::bconv3x3_ref(packed.p, sh.n, sh.h, sh.w, k.words, wb.p, sh.c, sh.c, ybin.p, 0);
      cuda::bconv_epilogue(ybin.p, gk.p, nullptr, nullptr, nullptr, sh.n, sh.h, sh.w, sh.c, z3.p, 0);
      const auto a = z2.get(), b = z3.get();
      for (size_t j = 0; j < a.size(); ++j) ASSERT_TRUE(testing::same_bits(a[j], b[j])) << "plain bmma, value " << j;
    }
  }
}

TEST(CudaKernels, PixelShuffleAndIm2colPlaceEveryValue) {
  SCALES_REQUIRE_GPU();
  const int n = 2, h = 3, w = 5, c = 4, r = 2;
  std::vector<float> y(size_t(n) * h * w * c * r * r);
  for (size_t j = 0; j < y.size(); ++j) y[j] = float(j);
  Dev<float> dy(y), out(y.size());
  cuda::pixel_shuffle(dy.p, n, h, w, c, r, out.p, 0);
  const auto o = out.get();
  for (int i = 0; i < n; ++i)
    for (int Y = 0; Y < h * r; ++Y)
      for (int X = 0; X < w * r; ++X)
        for (int ch = 0; ch < c; ++ch) {
          const float want =
              y[((size_t(i) * h + Y / r) * w + X / r) * c * r * r + size_t(ch) * r * r + (Y % r) * r + X % r];
          ASSERT_EQ(o[((size_t(i) * h * r + Y) * w * r + X) * c + ch], want);
        }
  std::vector<float> x(size_t(n) * h * w * c);
  for (size_t j = 0; j < x.size(); ++j) x[j] = float(j + 1);
  Dev<float> dx(x), col(size_t(n) * h * w * 9 * c);
  cuda::im2col3x3(dx.p, n, h, w, c, 0, int64_t(n) * h * w, col.p, 0);
  const auto cv = col.get();
  for (int64_t p = 0; p < int64_t(n) * h * w; ++p)
    for (int ci = 0; ci < c; ++ci)
      for (int t = 0; t < 9; ++t) {
        const int xx = int(p % w) + t % 3 - 1, yy = int((p / w) % h) + t / 3 - 1, i = int(p / (w * h));
        const float want =
            (xx < 0 || xx >= w || yy < 0 || yy >= h) ? 0.0f : x[((size_t(i) * h + yy) * w + xx) * c + ci];
        ASSERT_EQ(cv[size_t(p) * 9 * c + ci * 9 + t], want);
      }
}

}  // namespace
}  // namespace scales
