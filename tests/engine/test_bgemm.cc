// The binary GEMM core (bgemm/bgemm.h) on its own: every variant against a dot product of the
// unpacked +-1 values, for row layouts of one, two and three runs, overlapping rows (stride below
// the run length, as the 3x3 conv's pixels overlap) and output counts around the 8-lane group.
// The layers' own tests (test_bconv_kernels.cc, test_blinear.cc) cover the layouts they build.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>

#include "bgemm/bgemm.h"
#include "variant_util.h"

namespace scales::bgemm {
namespace {

struct Shape {
  int runs, run_words, stride, rows, c_out, k_bits;
};

using Param = std::tuple<std::string, Shape>;
class Bgemm : public ::testing::TestWithParam<Param> {};

TEST_P(Bgemm, EqualsTheSignDotProduct) {
  const auto& [isa, s] = GetParam();
  SCALES_VARIANT_OR_SKIP(k, isa);
  std::mt19937_64 rng(s.runs * 1000003 + s.run_words * 7919 + s.stride * 31 + s.rows * 7 + s.c_out);
  const int k_words = s.runs * s.run_words;
  // Each run lives in its own buffer, long enough for the last row. Every bit is random (no zero
  // pad bits), so the expected value below counts all 64 * k_words positions.
  std::vector<std::vector<uint64_t>> runs(
      s.runs, std::vector<uint64_t>(static_cast<size_t>(s.rows - 1) * s.stride + s.run_words));
  for (auto& r : runs)
    for (auto& v : r) v = rng();
  std::vector<uint64_t> bits(static_cast<size_t>(s.c_out) * k_words);
  for (auto& v : bits) v = rng();
  Rows a;
  for (int i = 0; i < s.runs; ++i) a.run[i] = runs[i].data();
  a.runs = s.runs;
  a.run_words = s.run_words;
  a.stride = s.stride;
  a.count = s.rows;
  const Weights w = make_weights(bits, s.c_out, k_words, s.k_bits);
  std::vector<int32_t> got(static_cast<size_t>(s.rows) * s.c_out, 0x7fffffff);  // poisoned
  k->gemm(a, w, got.data());
  for (int r = 0; r < s.rows; ++r)
    for (int o = 0; o < s.c_out; ++o) {
      int32_t dot = 0;  // over all k_words * 64 bit positions: +1 where the bits agree, -1 where not
      for (int i = 0; i < s.runs; ++i)
        for (int j = 0; j < s.run_words; ++j) {
          const uint64_t x = runs[i][static_cast<size_t>(r) * s.stride + j];
          const uint64_t y = bits[static_cast<size_t>(o) * k_words + i * s.run_words + j];
          for (int b = 0; b < 64; ++b) dot += ((x ^ y) >> b & 1) ? -1 : 1;
        }
      // The contract's K - 2 * popcount equals this dot shifted by the difference of lengths.
      const int32_t want = dot - 64 * k_words + s.k_bits;
      ASSERT_EQ(got[static_cast<size_t>(r) * s.c_out + o], want) << isa << " r=" << r << " o=" << o;
    }
}

const Shape kShapes[] = {{1, 1, 1, 1, 1, 64},
                         {1, 2, 2, 9, 13, 128},
                         {1, 3, 3, 17, 8, 192},
                         {2, 2, 3, 11, 9, 256},
                         {3, 3, 1, 10, 16, 576},
                         {3, 6, 2, 9, 33, 1152},
                         {3, 1, 1, 5, 7, 64 * 3},
                         {1, 8, 8, 33, 64, 512},
                         // one-run rows of 1-4 words (SwinIR's linears; AVX2's pre-split form) past
                         // its 64-row chunk: qkv's 60 -> 180, fc2's 120 -> 60, 4 words, odd groups
                         {1, 1, 1, 130, 180, 60},
                         {1, 2, 2, 65, 60, 120},
                         {1, 4, 4, 70, 23, 256 - 3},
                         // runs of 3 words at stride 1 (AVX-512's taps form): whole and partial
                         // 8-row blocks, an odd group, 1 or 2 runs, a 48-channel conv's K
                         {3, 3, 1, 19, 9, 576},
                         {3, 3, 1, 17, 48, 432},
                         {1, 3, 1, 16, 40, 192},
                         {2, 3, 1, 8, 64, 384},
                         // three-run rows in AVX2's Harley-Seal loop form (9 words, above, take
                         // its fixed-K form): 18 words (a 128-channel conv's); 33 words, the odd
                         // first one seeding "ones", and 30, even (no fold); 69 words, past the
                         // byte counts' fold (31 pairs); and past its gathered-row bound (270
                         // words: the lookup form)
                         {3, 6, 2, 7, 17, 64 * 18 - 5},
                         {3, 11, 11, 3, 9, 64 * 33},
                         {3, 10, 10, 3, 9, 64 * 30},
                         {3, 23, 23, 3, 9, 64 * 69},
                         {3, 90, 90, 3, 9, 64 * 270}};

INSTANTIATE_TEST_SUITE_P(All, Bgemm, ::testing::Combine(testing::all_isas(), ::testing::ValuesIn(kShapes)),
                         [](const auto& info) {
                           const Shape& s = std::get<1>(info.param);
                           return "Isa_" + std::get<0>(info.param) + "__Runs_" + std::to_string(s.runs) + "x" +
                                  std::to_string(s.run_words) + "_Stride_" + std::to_string(s.stride) + "_Rows_" +
                                  std::to_string(s.rows) + "_Cout_" + std::to_string(s.c_out);
                         });

}  // namespace
}  // namespace scales::bgemm
