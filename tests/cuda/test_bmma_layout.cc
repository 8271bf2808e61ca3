// The tensor-core conv emulated on the host with the kernel's own index functions
// (cuda/bmma_layout.h) and weight layout (cuda/bmma_weights.h): the shared-memory im2col, the
// WMMA m8n8k128 operands (row-major A, column-major B, ldm 128 bits) with AND + popcount, and the
// dot from AND counts, against the CPU reference conv. Runs without a GPU, so everything but the
// tensor-core instruction itself is checked on the build machine.
#include <gtest/gtest.h>

#include <bit>
#include <random>

#include "bconv/bconv3x3_ref.h"
#include "bconv/pack.h"
#include "cuda/bmma_layout.h"
#include "cuda/bmma_weights.h"

namespace scales {
namespace {

namespace bmma = cuda::bmma;

// What one block computes (bconv3x3_bmma.cu, steps 1-3 before the epilogue), on the host.
void emulate_block(const bconv::PackedMap& a, const cuda::BmmaWeights& bw, int c, int row, int x0,
                   std::vector<int32_t>& out) {
  const int words = a.words, w = a.width, kch = bmma::kchunks(words);
  std::vector<uint64_t> a_s(static_cast<size_t>(kch) * bmma::kPixels * 2, ~uint64_t{0});  // poisoned
  for (int p = 0; p < bmma::kPixels; ++p)
    for (int k = 0; k < 2 * kch; ++k) {
      const int64_t src = bmma::source_index(k, row, x0 + p, w, words);
      a_s[bmma::a_index(k, p)] = src < 0 ? 0 : a.bits[src];
    }
  for (int warp = 0; warp < bmma::kPixels / 8; ++warp)
    for (int nt = 0; nt < c / 8; ++nt)
      for (int r = 0; r < 8; ++r) {
        const int p = warp * 8 + r;
        if (x0 + p >= w) continue;
        int pa = 0;
        for (int k = 0; k < 2 * kch; ++k) pa += std::popcount(a_s[bmma::a_index(k, p)]);
        for (int col = 0; col < 8; ++col) {
          int and_count = 0;
          for (int kc = 0; kc < kch; ++kc) {
            const uint64_t* A = a_s.data() + bmma::a_operand(kc, warp) + 2 * r;           // row r, 128 bits
            const uint64_t* B = bw.chunks.data() + bmma::b_operand(kc, nt, c) + 2 * col;  // column col
            and_count += std::popcount(A[0] & B[0]) + std::popcount(A[1] & B[1]);
          }
          const int o = nt * 8 + col;
          out[(static_cast<size_t>(row) * w + x0 + p) * c + o] = bmma::dot_from_and(9 * c, pa, bw.popc[o], and_count);
        }
      }
}

TEST(BmmaLayout, HostEmulationEqualsTheCpuReferenceConv) {
  struct Shape {
    int h, w, c;
  };
  uint32_t seed = 1;
  for (const Shape s : {Shape{1, 1, 8}, Shape{3, 37, 64}, Shape{4, 70, 64}, Shape{2, 33, 96}, Shape{3, 40, 128},
                        Shape{2, 35, 200}, Shape{2, 64, 256}}) {
    std::mt19937 rng(seed++);
    std::normal_distribution<float> nd;
    std::vector<float> x(static_cast<size_t>(s.h) * s.w * s.c);
    for (auto& v : x) v = nd(rng);
    bconv::PackedMap a;
    bconv::pack_signs(x.data(), s.h, s.w, s.c, nullptr, a);
    const int words = a.words;
    std::vector<uint64_t> bits(static_cast<size_t>(s.c) * 9 * words);
    std::uniform_int_distribution<uint64_t> u;
    for (size_t j = 0; j < bits.size(); ++j) {
      const int valid = std::min(64, s.c - 64 * static_cast<int>(j % words));
      bits[j] = u(rng) & (valid == 64 ? ~uint64_t{0} : (uint64_t{1} << valid) - 1);
    }
    std::vector<int32_t> want(x.size()), got(x.size(), INT32_MIN);
    bconv::bconv3x3_ref(a, bits.data(), s.c, s.c, want.data());
    const cuda::BmmaWeights bw = cuda::make_bmma_weights(bits, s.c, words);
    for (int row = 0; row < s.h; ++row)
      for (int x0 = 0; x0 < s.w; x0 += bmma::kPixels) emulate_block(a, bw, s.c, row, x0, got);
    for (size_t j = 0; j < want.size(); ++j) ASSERT_EQ(got[j], want[j]) << "c=" << s.c << " value " << j;
  }
}

}  // namespace
}  // namespace scales
