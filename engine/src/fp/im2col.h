// What the arm64 conv forms (fp/conv3x3_blas.h in fp32, fp/conv3x3_neon.h in int8 and bf16) share:
// gathering 3x3 windows as matrix rows, and running chunks of output pixels on OpenMP threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>

namespace scales::fp {

// The 3x3 windows of output pixels [p0, p1) (row-major over the height x width map, so pixel p is
// row p / width) as rows of `k` values (k >= 9 * in): (ky, kx, i), then zeros; taps outside the
// map are zero. `band` holds input rows from s0. Rows are then zero up to the next multiple of
// `row_multiple`, for a product that reads whole tiles.
template <typename T>
void im2col_windows(const T* band, int s0, int height, int width, int in, int k, long p0, long p1, int row_multiple,
                    T* cols) {
  const size_t tap = static_cast<size_t>(in);
  for (long p = p0; p < p1; ++p) {
    const int r = static_cast<int>(p / width), x = static_cast<int>(p % width);
    T* col = cols + static_cast<size_t>(p - p0) * k;
    for (int ky = 0; ky < 3; ++ky) {
      const int ir = r - 1 + ky;
      T* dst = col + static_cast<size_t>(ky) * 3 * tap;
      if (ir < 0 || ir >= height) {
        std::fill_n(dst, 3 * tap, T{0});
        continue;
      }
      const T* row = band + static_cast<size_t>(ir - s0) * width * tap;
      for (int kx = 0; kx < 3; ++kx) {
        const int ix = x - 1 + kx;
        if (ix < 0 || ix >= width)
          std::fill_n(dst + kx * tap, tap, T{0});
        else
          std::copy_n(row + static_cast<size_t>(ix) * tap, tap, dst + kx * tap);
      }
    }
    std::fill(col + 9 * tap, col + k, T{0});
  }
  const long rows = (p1 - p0 + row_multiple - 1) / row_multiple * row_multiple;
  std::fill_n(cols + static_cast<size_t>(p1 - p0) * k, static_cast<size_t>(rows - (p1 - p0)) * k, T{0});
}

// chunk(0) ... chunk(chunks - 1) on up to `threads` OpenMP threads, one chunk at a time each. An
// exception must not leave an OpenMP region (std::terminate): the first one is kept and thrown
// after it.
template <typename Chunk>
void parallel_chunks(int chunks, int threads, Chunk&& chunk) {
  std::exception_ptr failed;
  std::mutex failed_mu;
#pragma omp parallel for num_threads(std::max(1, std::min(threads, chunks))) schedule(dynamic, 1)
  for (int ch = 0; ch < chunks; ++ch) {
    try {
      chunk(ch);
    } catch (...) {
      std::lock_guard<std::mutex> lk(failed_mu);
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
}

}  // namespace scales::fp
