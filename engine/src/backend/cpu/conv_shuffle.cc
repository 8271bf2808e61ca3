// conv3x3 then pixel shuffle on the CPU: y[r*Y + dy, r*X + dx, ch] = conv[Y, X, ch*r*r + dy*r + dx].
// The conv runs in its sub-pixel-major form (fp/subpixel.h) a band of input rows at a time; each
// band's output is still in cache when it is copied into place as whole C-channel runs, and no
// r*r*C map of the whole input exists.
//
// conv_shuffle_conv goes one step further for the last upsampler and the tail conv after it
// (EDSR's 64 -> 3): the shuffled rows land in a small band buffer, the tail runs on them while
// they are in cache, and the high-resolution C-channel map (256 MB at x4 from a 256x256 input) is
// never written out and read back.
#include <algorithm>
#include <cstring>

#include "backend/cpu/ops.h"
#include "fp/conv3x3.h"

namespace scales::backend::cpu {

namespace {
// The conv's output band is about this many floats (2 MB): in L2 while the shuffle reads it.
constexpr size_t kBandFloats = size_t{1} << 19;
// The tail runs on this many upsampler bands at once (oneDNN is slower on short bands).
constexpr int kTailBands = 8;

// Rows per band: about kBandFloats of output, a multiple of 4 rows where that is at least 4 (the
// Winograd form computes whole 4-row tiles, fp/conv3x3_winograd.h: a band ending mid-tile would
// have the tile computed twice, once for each band).
int band_rows(int w, int rc, int h) {
  const auto rows = std::clamp<size_t>(kBandFloats / (static_cast<size_t>(w) * rc), 1, h);
  return static_cast<int>(rows >= 4 ? rows / 4 * 4 : rows);
}

// Copies the sub-pixel-major conv output of LR rows [0, rows) (g: rows x w x r*r*c) into HR rows
// 0 .. r*rows - 1 of `hr` (rows of hr_w * c floats), one sub-pixel's C channels at a time.
void shuffle_band(const float* g, int rows, int w, int r, int c, float* hr, net::Runtime& rt) {
  const int rc = r * r * c;
  const size_t hr_row = static_cast<size_t>(w) * r * c;
  rt.pool.parallel_for(rows, [&](int j) {
    for (int dy = 0; dy < r; ++dy) {
      float* row = hr + static_cast<size_t>(r * j + dy) * hr_row;
      for (int xx = 0; xx < w; ++xx) {
        const float* u = g + (static_cast<size_t>(j) * w + xx) * rc + static_cast<size_t>(dy) * r * c;
        std::copy(u, u + static_cast<size_t>(r) * c, row + static_cast<size_t>(r) * xx * c);
      }
    }
  });
}
}  // namespace

void conv_shuffle(const net::op::ConvShuffle& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  const fp::Conv3x3& conv = *p.subpixel_major;
  const int r = p.r, rc = conv.out(), c = rc / (r * r), h = x.h, w = x.w;
  Tensor hr;
  hr.make_host(*b.host_memory, b.size(), h * r, w * r, c);
  const int band = band_rows(w, rc, h);
  auto g = rt.ws.acquire(static_cast<size_t>(band) * w * rc);
  for (int i = 0; i < b.size(); ++i) {
    for (int y0 = 0; y0 < h; y0 += band) {
      const int y1 = std::min(h, y0 + band);
      conv.run_rows(x.item(i), h, w, y0, y1, g.data(), rt.pool.size(), rt.low_precision);
      shuffle_band(g.data(), y1 - y0, w, r, c, hr.item(i) + static_cast<size_t>(r) * y0 * hr.w * c, rt);
    }
  }
  y = std::move(hr);
}

void conv_shuffle_conv(const net::op::ConvShuffle& p, const net::op::Conv& t, Batch& b, const Tensor& x, Tensor& y,
                       net::Runtime& rt) {
  const fp::Conv3x3& conv = *p.subpixel_major;
  const fp::Conv3x3& tail = *t.conv;
  const int r = p.r, rc = conv.out(), c = rc / (r * r), h = x.h, w = x.w;
  const int H = h * r, W = w * r;
  const size_t hr_row = static_cast<size_t>(W) * c;
  Tensor out;
  out.make_host(*b.host_memory, b.size(), H, W, tail.out());
  const int band = band_rows(w, rc, h);
  const int tband = std::min(h, band * kTailBands);
  auto g = rt.ws.acquire(static_cast<size_t>(band) * w * rc);
  // HR rows [first, R1): the two rows carried over from the band before (the tail's halo), then
  // this band's r * tband rows.
  auto hb = rt.ws.acquire((2 + static_cast<size_t>(r) * tband) * hr_row);
  for (int i = 0; i < b.size(); ++i) {
    float* o = out.item(i);
    int kept = 0, done = 0;  // HR rows carried in hb; tail output rows written
    for (int Y0 = 0; Y0 < h; Y0 += tband) {
      const int Y1 = std::min(h, Y0 + tband), R1 = r * Y1, first = r * Y0 - kept;
      for (int y0 = Y0; y0 < Y1; y0 += band) {
        const int y1 = std::min(Y1, y0 + band);
        conv.run_rows(x.item(i), h, w, y0, y1, g.data(), rt.pool.size(), rt.low_precision);
        shuffle_band(g.data(), y1 - y0, w, r, c, hb.data() + (kept + static_cast<size_t>(r) * (y0 - Y0)) * hr_row, rt);
      }
      // Output row q needs HR rows q - 1 .. q + 1: every row up to R1 - 2 is complete, and at the
      // bottom edge the last row too (its row below is padding).
      const int t1 = R1 == H ? H : R1 - 1;
      const int s0 = std::max(0, done - 1);  // the first HR row those outputs read (>= first)
      tail.run_rows_of_band(hb.data() + (s0 - first) * hr_row, H, W, done, t1,
                            o + static_cast<size_t>(done) * W * tail.out(), rt.pool.size(), rt.low_precision);
      done = t1;
      // Carry the band's last two rows: the halo of the next band's first outputs.
      std::memmove(hb.data(), hb.data() + static_cast<size_t>(R1 - 2 - first) * hr_row, 2 * hr_row * sizeof(float));
      kept = 2;
    }
  }
  y = std::move(out);
}

}  // namespace scales::backend::cpu
