// The CPU's small ops: the input and output images, FP convs through oneDNN, LayerNorm, GELU and
// the elementwise add and copy.
#include <algorithm>

#include "backend/cpu/ops.h"
#include "fp/layer_norm.h"
#include "fp/ops.h"

namespace scales::backend::cpu {

namespace {

constexpr int64_t kPart = 1 << 16;  // floats per pool task of the elementwise ops

// Source index of padded coordinate i on an axis of length n (reflect without repeating the edge
// when the padding is shorter than the axis, else the edge repeated), as pad_to_window in swinir.py.
int pad_index(int i, int n, int pad) {
  if (i < n) return i;
  return pad < n ? 2 * (n - 1) - i : n - 1;
}

int64_t floats(const Tensor& t) { return static_cast<int64_t>(t.item_floats()); }

}  // namespace

void input(const net::op::Input& p, Batch& b, Tensor& y, net::Runtime&) {
  const int h0 = b.in[0]->height, w0 = b.in[0]->width, a = p.align;
  const int H = h0 + (a - h0 % a) % a, W = w0 + (a - w0 % a) % a;
  y.make_host(*b.host_memory, b.size(), H, W, 3);
  for (int i = 0; i < b.size(); ++i) {
    const float* in = b.in[i]->rgb.data();
    float* out = y.item(i);
    for (int yy = 0; yy < H; ++yy)
      for (int xx = 0; xx < W; ++xx) {
        const float* src = in + (static_cast<size_t>(pad_index(yy, h0, H - h0)) * w0 + pad_index(xx, w0, W - w0)) * 3;
        for (int ch = 0; ch < 3; ++ch) out[(static_cast<size_t>(yy) * W + xx) * 3 + ch] = src[ch] - p.mean[ch];
      }
  }
}

void conv(const net::op::Conv& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  Tensor out;
  out.make_host(*b.host_memory, b.size(), x.h, x.w, p.conv->out());
  for (int i = 0; i < b.size(); ++i) p.conv->run(x.item(i), x.h, x.w, out.item(i), rt.pool.size(), rt.low_precision);
  y = std::move(out);  // y may be x
}

void conv_residual(const net::op::ConvResidual& p, Batch& b, Tensor& x, net::Runtime& rt) {
  auto y = rt.ws.acquire(x.item_floats());
  for (int i = 0; i < b.size(); ++i) {
    float* xi = x.item(i);
    p.conv->run(xi, x.h, x.w, y.data(), rt.pool.size(), rt.low_precision);
    for (size_t k = 0; k < x.item_floats(); ++k) {
      float z = xi[k] + y.data()[k];
      if (p.prelu && z < 0.0f) z = (*p.prelu)[k % x.c] * z;
      xi[k] = z;
    }
  }
}

void layer_norm(const net::op::LayerNorm& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  if (&x != &y) y.make_host(*b.host_memory, b.size(), x.h, x.w, x.c);
  const fp::LayerNormFn fn = rt.kernel.layer_norm ? rt.kernel.layer_norm : fp::layer_norm_rows;
  const int64_t tokens = static_cast<int64_t>(x.h) * x.w;
  constexpr int64_t kTokensPerTask = 256;
  const int tasks = static_cast<int>((tokens + kTokensPerTask - 1) / kTokensPerTask);
  for (int i = 0; i < b.size(); ++i) {
    const float* xi = x.item(i);
    float* yi = y.item(i);
    rt.pool.parallel_for(tasks, [&](int task) {
      const int64_t t0 = task * kTokensPerTask, n = std::min(kTokensPerTask, tokens - t0);
      fn(xi + t0 * x.c, n, x.c, p.w->data(), p.b->data(), yi + t0 * x.c, nullptr);
    });
  }
}

void add(Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  if (x.h != y.h || x.w != y.w || x.c != y.c) throw Error("add: tensors of different shapes");
  const int64_t size = floats(x);
  for (int i = 0; i < b.size(); ++i) {
    const float* s = x.item(i);
    float* d = y.item(i);
    rt.pool.parallel_for(static_cast<int>((size + kPart - 1) / kPart), [&](int part) {
      const int64_t k1 = std::min(size, (part + 1) * kPart);
      for (int64_t k = part * kPart; k < k1; ++k) d[k] += s[k];
    });
  }
}

void copy(Batch& b, const Tensor& x, Tensor& y, net::Runtime&) {
  y.make_host(*b.host_memory, b.size(), x.h, x.w, x.c);
  for (int i = 0; i < b.size(); ++i) std::copy(x.item(i), x.item(i) + x.item_floats(), y.item(i));
}

void output(const net::op::Output& p, Batch& b, const Tensor& x) {
  if (x.c != 3) throw Error("output: the last tensor has " + std::to_string(x.c) + " channels, not 3");
  for (int i = 0; i < b.size(); ++i) {
    Image* img = b.output_image(i, p.scale);
    if (!img) continue;
    Image& out = *img;
    const float* src = x.item(i);
    for (int yy = 0; yy < out.height; ++yy)
      for (int xx = 0; xx < out.width; ++xx)
        for (int ch = 0; ch < 3; ++ch)
          out.rgb[(static_cast<size_t>(yy) * out.width + xx) * 3 + ch] =
              src[(static_cast<size_t>(yy) * x.w + xx) * 3 + ch] + p.mean[ch];
  }
}

}  // namespace scales::backend::cpu
