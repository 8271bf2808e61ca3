// conv3x3 then pixel shuffle on the CPU: y[r*Y + dy, r*X + dx, ch] = conv[Y, X, ch*r*r + dy*r + dx].
// The conv runs in its sub-pixel-major form (fp/subpixel.h) a band of input rows at a time; each
// band's output is still in cache when it is copied into place as whole C-channel runs, and no
// r*r*C map of the whole input exists.
#include <algorithm>

#include "backend/cpu/ops.h"
#include "fp/conv3x3.h"

namespace scales::backend::cpu {

namespace {
// The conv's output band is about this many floats (2 MB): in L2 while the shuffle reads it.
constexpr size_t kBandFloats = size_t{1} << 19;
}  // namespace

void conv_shuffle(const net::op::ConvShuffle& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  const fp::Conv3x3& conv = *p.subpixel_major;
  const int r = p.r, rc = conv.out(), c = rc / (r * r), h = x.h, w = x.w;
  Tensor hr;
  hr.make_host(*b.host_memory, b.size(), h * r, w * r, c);
  const int band = static_cast<int>(std::clamp<size_t>(kBandFloats / (static_cast<size_t>(w) * rc), 1, h));
  auto g = rt.ws.acquire(static_cast<size_t>(band) * w * rc);
  for (int i = 0; i < b.size(); ++i) {
    float* out = hr.item(i);
    for (int y0 = 0; y0 < h; y0 += band) {
      const int y1 = std::min(h, y0 + band);
      conv.run_rows(x.item(i), h, w, y0, y1, g.data(), rt.pool.size(), rt.low_precision);
      rt.pool.parallel_for(y1 - y0, [&](int j) {
        for (int dy = 0; dy < r; ++dy) {
          float* row = out + static_cast<size_t>(r * (y0 + j) + dy) * hr.w * c;
          for (int xx = 0; xx < w; ++xx) {
            const float* u = g.data() + (static_cast<size_t>(j) * w + xx) * rc + static_cast<size_t>(dy) * r * c;
            std::copy(u, u + static_cast<size_t>(r) * c, row + static_cast<size_t>(r) * xx * c);
          }
        }
      });
    }
  }
  y = std::move(hr);
}

}  // namespace scales::backend::cpu
