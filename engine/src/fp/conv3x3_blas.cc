#include "fp/conv3x3_blas.h"

#include <cblas.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "fp/im2col.h"
#include "fp/omp_threads.h"

namespace scales::fp {

namespace {
// A chunk's window matrix is about this size (at least one row of pixels): small enough to stay in
// L2 between its writing and the product reading it.
constexpr size_t kWindowBytes = size_t{1} << 20;

}  // namespace

BlasConv3x3::BlasConv3x3(const ConvParams& c) : in_(c.in), out_(c.out), w_(c.weight.size()), bias_(c.bias) {
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i)
      for (int t = 0; t < 9; ++t)
        w_[(static_cast<size_t>(t) * in_ + i) * out_ + o] = c.weight[(static_cast<size_t>(o) * in_ + i) * 9 + t];
}

void BlasConv3x3::run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst,
                                   int threads) const {
  if (row1 <= row0 || width <= 0) return;
  const int s0 = std::max(0, row0 - 1);
  const int k = 9 * in_;
  const long first = static_cast<long>(row0) * width, pixels = static_cast<long>(row1 - row0) * width;
  threads = std::max(1, threads);
  // About kWindowBytes of windows per chunk, and at least one chunk per thread (a band can be a
  // single row of a wide image).
  long chunk = std::max<long>(1, static_cast<long>(kWindowBytes / (sizeof(float) * k)));
  chunk = std::min(chunk, (pixels + threads - 1) / threads);
  const int chunks = static_cast<int>((pixels + chunk - 1) / chunk);
  // One thread per product: with the count at 1 here, a team of one (threads == 1) does not let
  // OpenBLAS's OpenMP build start threads of its own either (several engines may call at once).
  OmpThreads one(1);
  parallel_chunks(chunks, threads, [&](int ch) {
    const long p0 = static_cast<long>(ch) * chunk, p1 = std::min(pixels, p0 + chunk);
    const int m = static_cast<int>(p1 - p0);
    // Kept per thread: a fresh 1 MiB each chunk would be mapped and faulted in every time.
    thread_local std::vector<float> cols;
    cols.resize(static_cast<size_t>(m) * k);
    im2col_windows(band, s0, height, width, in_, k, first + p0, first + p1, 1, cols.data());
    float* out = dst + static_cast<size_t>(p0) * out_;
    for (int p = 0; p < m; ++p) std::copy(bias_.begin(), bias_.end(), out + static_cast<size_t>(p) * out_);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, out_, k, 1.f, cols.data(), k, w_.data(), out_, 1.f, out,
                out_);
  });
}

}  // namespace scales::fp
