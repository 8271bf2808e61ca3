#include "fp/conv3x3_int8_neon.h"

#include <arm_neon.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>

#include "fp/gemm_s8_neon.h"
#include "fp/quantize.h"

namespace scales::fp {

namespace {
// A chunk's int8 windows are about this size: they are read once per panel of 8 outputs, so they
// should stay in L2 (1 MiB on Neoverse N1, 2 MiB on V1 and later) beside everything else.
constexpr size_t kWindowBytes = size_t{256} << 10;

// x * scale[c], rounded to nearest-even and saturated to [-127, 127], as round_sat in
// fp/quantize.cc (FCVTNS gives NaN 0 and saturates out-of-range values, SQXTN saturates again).
void quantize_rows(const float* x, size_t pixels, int in, const float* scale, int8_t* q) {
  for (size_t p = 0; p < pixels; ++p, x += in, q += in) {
    int c = 0;
    for (; c + 8 <= in; c += 8) {
      const int32x4_t lo = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + c), vld1q_f32(scale + c)));
      const int32x4_t hi = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + c + 4), vld1q_f32(scale + c + 4)));
      const int8x8_t v = vqmovn_s16(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)));
      vst1_s8(q + c, vmax_s8(v, vdup_n_s8(-127)));
    }
    for (; c < in; ++c) {
      const int32_t v = vcvtns_s32_f32(x[c] * scale[c]);
      q[c] = static_cast<int8_t>(std::clamp(v, -127, 127));
    }
  }
}

// The int8 windows of output pixels [p0, p1) (row-major over the map) as rows of k bytes each,
// (ky, kx, i) then zeros; rows up to the next multiple of kGemmS8Rows are zero. `band` holds the
// quantized input from row s0.
void windows(const int8_t* band, int s0, int height, int width, int in, int k, long p0, long p1, int8_t* cols) {
  const size_t tap = static_cast<size_t>(in);
  for (long p = p0; p < p1; ++p) {
    const int r = static_cast<int>(p / width), x = static_cast<int>(p % width);
    int8_t* col = cols + static_cast<size_t>(p - p0) * k;
    for (int ky = 0; ky < 3; ++ky) {
      const int ir = r - 1 + ky;
      int8_t* dst = col + static_cast<size_t>(ky) * 3 * tap;
      if (ir < 0 || ir >= height) {
        std::memset(dst, 0, 3 * tap);
        continue;
      }
      const int8_t* row = band + static_cast<size_t>(ir - s0) * width * tap;
      for (int kx = 0; kx < 3; ++kx) {
        const int ix = x - 1 + kx;
        if (ix < 0 || ix >= width)
          std::memset(dst + kx * tap, 0, tap);
        else
          std::memcpy(dst + kx * tap, row + static_cast<size_t>(ix) * tap, tap);
      }
    }
    std::memset(col + 9 * tap, 0, k - 9 * tap);
  }
  const long rows = (p1 - p0 + kGemmS8Rows - 1) / kGemmS8Rows * kGemmS8Rows;
  std::memset(cols + static_cast<size_t>(p1 - p0) * k, 0, static_cast<size_t>(rows - (p1 - p0)) * k);
}
}  // namespace

bool Int8NeonConv3x3::available() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }

Int8NeonConv3x3::Int8NeonConv3x3(const ConvParams& c) : in_(c.in), out_(c.out) {
  const Int8Conv q = quantize_conv(c);
  input_scale_ = q.input_scale;
  k_ = (9 * in_ + kGemmS8Depth - 1) / kGemmS8Depth * kGemmS8Depth;
  const int panels = (out_ + kGemmS8Cols - 1) / kGemmS8Cols;
  scale_.assign(static_cast<size_t>(panels) * kGemmS8Cols, 0.f);
  bias_.assign(scale_.size(), 0.f);
  std::copy(q.weight_scale.begin(), q.weight_scale.end(), scale_.begin());
  std::copy(c.bias.begin(), c.bias.end(), bias_.begin());
  // Row r = (ky * 3 + kx) * in + i of the product's right matrix is weight[o][i][ky][kx]; rows past
  // 9 * in and columns past out stay zero.
  w_.assign(static_cast<size_t>(panels) * k_ * kGemmS8Cols, 0);
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i)
      for (int t = 0; t < 9; ++t) {
        const int r = t * in_ + i, j = o / kGemmS8Cols, h = (o % kGemmS8Cols) / 4, col = o % 4;
        const size_t at =
            static_cast<size_t>(j) * k_ * kGemmS8Cols + ((static_cast<size_t>(r / 4) * 2 + h) * 4 + col) * 4 + r % 4;
        w_[at] = q.weight[(static_cast<size_t>(o) * in_ + i) * 9 + t];
      }
}

void Int8NeonConv3x3::run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst,
                                       int threads) const {
  if (row1 <= row0 || width <= 0) return;
  const int s0 = std::max(0, row0 - 1), s1 = std::min(height, row1 + 1);
  std::vector<int8_t> qband(static_cast<size_t>(s1 - s0) * width * in_);
  quantize_rows(band, static_cast<size_t>(s1 - s0) * width, in_, input_scale_.data(), qband.data());
  const long first = static_cast<long>(row0) * width, pixels = static_cast<long>(row1 - row0) * width;
  threads = std::max(1, threads);
  // About kWindowBytes of windows per chunk, a whole number of tiles, and at least one chunk per
  // thread (a band can be a single row of a wide image).
  long chunk = std::max<long>(kGemmS8Rows, static_cast<long>(kWindowBytes / k_) / kGemmS8Rows * kGemmS8Rows);
  chunk = std::min(chunk, ((pixels + threads - 1) / threads + kGemmS8Rows - 1) / kGemmS8Rows * kGemmS8Rows);
  const int chunks = static_cast<int>((pixels + chunk - 1) / chunk);
  // An exception must not leave an OpenMP region (std::terminate): the first one is kept and
  // thrown after it.
  std::exception_ptr failed;
  std::mutex failed_mu;
#pragma omp parallel for num_threads(std::min(threads, chunks)) schedule(dynamic, 1)
  for (int ch = 0; ch < chunks; ++ch) {
    try {
      const long p0 = static_cast<long>(ch) * chunk, p1 = std::min(pixels, p0 + chunk);
      const int m = static_cast<int>(p1 - p0);
      thread_local std::vector<int8_t> cols;  // per thread: not mapped and faulted in each chunk
      cols.resize(static_cast<size_t>((m + kGemmS8Rows - 1) / kGemmS8Rows * kGemmS8Rows) * k_);
      windows(qband.data(), s0, height, width, in_, k_, first + p0, first + p1, cols.data());
      gemm_s8_neon(cols.data(), m, k_, w_.data(), out_, scale_.data(), bias_.data(),
                   dst + static_cast<size_t>(p0) * out_, out_);
    } catch (...) {
      std::lock_guard<std::mutex> lk(failed_mu);
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
}

}  // namespace scales::fp
