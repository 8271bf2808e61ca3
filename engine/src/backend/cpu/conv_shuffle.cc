// conv3x3 then pixel shuffle on the CPU: y[r*Y + dy, r*X + dx, ch] = conv[Y, X, ch*r*r + dy*r + dx].
// With sub-pixel convs (EDSR's C -> r*r*C upsampler) one sub-pixel at a time, each output copied
// straight into place as whole C-channel runs: no r*r*C map. Else the whole conv, then the shuffle.
#include <algorithm>

#include "backend/cpu/ops.h"

namespace scales::backend::cpu {

namespace {
constexpr int kRowsPerChunk = 4;
}

void conv_shuffle(const net::op::ConvShuffle& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  const int r = p.r, c = p.conv->out() / (r * r), h = x.h, w = x.w;
  Tensor hr;
  hr.make_host(*b.host_memory, b.size(), h * r, w * r, c);
  const int chunks = (h + kRowsPerChunk - 1) / kRowsPerChunk;
  for (int i = 0; i < b.size(); ++i) {
    float* out = hr.item(i);
    if (!p.subpixels.empty()) {
      auto g = rt.ws.acquire(static_cast<size_t>(h) * w * c);
      for (int sp = 0; sp < r * r; ++sp) {
        const int dy = sp / r, dx = sp % r;
        p.subpixels[sp]->run(x.item(i), h, w, g.data(), rt.pool.size());
        rt.pool.parallel_for(chunks, [&](int ch) {
          for (int yy = ch * kRowsPerChunk; yy < std::min(h, (ch + 1) * kRowsPerChunk); ++yy)
            for (int xx = 0; xx < w; ++xx) {
              const float* src = g.data() + (static_cast<size_t>(yy) * w + xx) * c;
              std::copy(src, src + c, out + (static_cast<size_t>(r * yy + dy) * hr.w + (r * xx + dx)) * c);
            }
        });
      }
      continue;
    }
    auto g = rt.ws.acquire(static_cast<size_t>(h) * w * c * r * r);
    p.conv->run(x.item(i), h, w, g.data(), rt.pool.size());
    for (int Y = 0; Y < hr.h; ++Y)
      for (int X = 0; X < hr.w; ++X) {
        const float* u = g.data() + (static_cast<size_t>(Y / r) * w + X / r) * c * r * r;
        const int sp = (Y % r) * r + X % r;
        for (int ch = 0; ch < c; ++ch) out[(static_cast<size_t>(Y) * hr.w + X) * c + ch] = u[ch * r * r + sp];
      }
  }
  y = std::move(hr);
}

}  // namespace scales::backend::cpu
