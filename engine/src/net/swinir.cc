// SCALES-SwinIR forward pass over one image (or tile), read top to bottom
// (docs/model-format.md, "SCALES-SwinIR"; models/scales_sr/swinir.py is the same in PyTorch):
//
//   x0 = pad(in) - rgb_mean                      bottom/right to multiples of the window
//   f0 = conv_first(x0)                          FP conv 3 -> C (oneDNN)
//   t  = LN(f0)                                  tokens = the HWC map's pixels, row-major
//   per group: t_in = t
//     per layer:  t += proj(WA(qkv(LN1(t))))     binary linears (popcount kernels) + FP attention
//                 t += fc2(gelu(fc1(LN2(t))))    (oneDNN batched matmul, softmax, GELU, LayerNorm)
//     t = conv_g(t) + t_in                       binary residual 3x3 conv (bconv kernels + epilogue)
//   f  = conv_after_body(LN(t)) + f0
//   out = shuffle_s(up(f)) + rgb_mean, cropped   FP conv C -> 3 s^2, pixel shuffle
//
// A binary linear layer: sign bits of x + shift -> popcount GEMM (the dispatched ISA's kernel)
// -> z = res(x) + ybin * ((alpha k[o]) s[t]) c[o], with the factors formed in the PyTorch order.
#include "net/swinir.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "bconv/epilogue.h"
#include "bconv/pack.h"
#include "bconv/weights.h"
#include "blinear/kernel.h"
#include "fp/conv3x3.h"
#include "fp/ops.h"
#include "runtime/trace.h"

namespace scales::net {

namespace {

constexpr int kTokensPerChunk = 64;
constexpr int kWindowsPerTask = 4;            // attention: windows per pool task (6 heads: 400 KB of scores)
constexpr int64_t kTokensPerSumBlock = 1024;  // channel-mean partial sums (fixed: thread-count independent)

// Source index of padded coordinate i on an axis of length n (reflect without repeating the edge
// when the padding is shorter than the axis, else the edge repeated), as pad_to_window in swinir.py.
int pad_index(int i, int n, int pad) {
  if (i < n) return i;
  return pad < n ? 2 * (n - 1) - i : n - 1;
}

struct LinearLayer {
  const model::Linear* m;
  blinear::BlinearWeights bw;  // binary
  std::vector<float> gk;       // alpha * k
};

LinearLayer make_linear(const model::Linear& l) {
  LinearLayer L{&l, {}, {}};
  if (l.binary) {
    L.bw = blinear::make_blinear_weights(l.weight_bits, l.out, l.in);
    L.gk.resize(l.out);
    for (int o = 0; o < l.out; ++o) L.gk[o] = l.has_alpha ? l.alpha * l.weight_scale[o] : l.weight_scale[o];
  }
  return L;
}

struct LayerW {
  const model::SwinLayer* m;
  LinearLayer qkv, proj, fc1, fc2;
};

struct GroupW {
  std::vector<LayerW> layers;
  const model::ResConv* conv;
  bconv::BconvWeights bw;
  std::vector<float> gk;
  std::unique_ptr<fp::Conv3x3> fp;  // FP twin: plain conv
};

class Swinir final : public Network {
 public:
  explicit Swinir(model::SwinirWeights w)
      : w_(std::move(w)), conv_first_(w_.conv_first), conv_after_body_(w_.conv_after_body), up_(w_.up) {
    for (const auto& g : w_.body) {
      GroupW G;
      for (const auto& l : g.layers)
        G.layers.push_back({&l, make_linear(l.qkv), make_linear(l.proj), make_linear(l.fc1), make_linear(l.fc2)});
      G.conv = &g.conv;
      if (g.conv.binary) {
        G.bw = bconv::make_bconv_weights(g.conv.weight_bits, w_.info.channels, w_.info.channels);
        G.gk = bconv::scale_factors(g.conv);
      } else {
        G.fp = std::make_unique<fp::Conv3x3>(g.conv.fp);
      }
      groups_.push_back(std::move(G));
    }
  }

  const ModelInfo& info() const override { return w_.info; }

  // Two windows: attention reaches a window (plus the shifted half) per layer, so this is not the
  // full receptive radius; tiles of large images are an approximation (docs/engine.md).
  int context() const override { return 2 * w_.window; }

  size_t bytes_per_pixel() const override {
    const size_t c = w_.info.channels, n = static_cast<size_t>(w_.window) * w_.window;
    // t, t_in, f0, f; the layer scratch: LN output, attention output, a linear's output, qkv (3C),
    // q/k/v/o gathered per window (4C), the MLP hidden (M*C), attention scores (heads x N per
    // token); the HR output (up, then the image).
    const size_t s2 = static_cast<size_t>(w_.info.scale) * w_.info.scale;
    return 4 * (c * (4 + 3 + 3 + 4 + w_.mlp_ratio) + w_.heads * n) + 4 * 3 * s2 * 2 + 16;
  }

  int tile_alignment() const override { return w_.window; }

  bool uses_image_stats() const override { return false; }  // tiles use their own means (see context)

  Image forward(const Image& in, Runtime& rt, const StatsPlan& stats) const override {
    if (stats.collect) return {};
    const int h0 = in.height, w0 = in.width, ws = w_.window, c = w_.info.channels, s = w_.info.scale;
    const int H = h0 + (ws - h0 % ws) % ws, W = w0 + (ws - w0 % ws) % ws;
    const int64_t L = static_cast<int64_t>(H) * W;
    const int threads = rt.pool.size();
    runtime::StageTrace trace;

    std::vector<float> x0(static_cast<size_t>(L) * 3);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const float* src =
            in.rgb.data() + (static_cast<size_t>(pad_index(y, h0, H - h0)) * w0 + pad_index(x, w0, W - w0)) * 3;
        for (int ch = 0; ch < 3; ++ch) x0[(static_cast<size_t>(y) * W + x) * 3 + ch] = src[ch] - w_.rgb_mean[ch];
      }
    std::vector<float> f0(static_cast<size_t>(L) * c), t(f0.size());
    conv_first_.run(x0.data(), H, W, f0.data(), threads);
    tap(rt, "conv_first", H, W, c, f0.data());
    fp::layer_norm(f0.data(), L, c, w_.embed_norm_w.data(), w_.embed_norm_b.data(), t.data(), rt.pool);
    trace.mark("embed");

    Scratch scratch(L, c, w_.mlp_ratio, w_.heads, ws * ws);
    std::vector<float> t_in(t.size());
    for (size_t g = 0; g < groups_.size(); ++g) {
      t_in = t;
      for (const LayerW& lw : groups_[g].layers) swin_layer(lw, t, H, W, scratch, rt);
      group_conv(groups_[g], t, H, W, rt);
      add_inplace(t, t_in, rt);
      tap(rt, "groups." + std::to_string(g), H, W, c, t.data());
      trace.mark("group");
    }

    fp::layer_norm(t.data(), L, c, w_.norm_w.data(), w_.norm_b.data(), t.data(), rt.pool);
    std::vector<float> f(t.size());
    conv_after_body_.run(t.data(), H, W, f.data(), threads);
    for (size_t i = 0; i < f.size(); ++i) f[i] += f0[i];
    std::vector<float> up(static_cast<size_t>(L) * 3 * s * s);
    up_.run(f.data(), H, W, up.data(), threads);
    trace.mark("upsample");

    // Pixel shuffle: out[s*y+dy, s*x+dx, ch] = up[y, x, ch*s*s + dy*s + dx], cropped to s*h0 x s*w0.
    Image out;
    out.height = s * h0;
    out.width = s * w0;
    out.rgb.resize(static_cast<size_t>(out.height) * out.width * 3);
    for (int Y = 0; Y < out.height; ++Y)
      for (int X = 0; X < out.width; ++X) {
        const float* u = up.data() + (static_cast<size_t>(Y / s) * W + X / s) * 3 * s * s;
        const int sp = (Y % s) * s + X % s;
        for (int ch = 0; ch < 3; ++ch)
          out.rgb[(static_cast<size_t>(Y) * out.width + X) * 3 + ch] = u[ch * s * s + sp] + w_.rgb_mean[ch];
      }
    return out;
  }

 private:
  static void tap(const Runtime& rt, const std::string& name, int h, int w, int c, const float* data) {
    if (rt.tap) (*rt.tap)(name, h, w, c, data);
  }

  static int chunks(int64_t tokens) { return static_cast<int>((tokens + kTokensPerChunk - 1) / kTokensPerChunk); }

  // y (L x out) = Lin(x (L x in)).
  void linear(const LinearLayer& L, const float* x, int64_t tokens, float* y, Runtime& rt) const {
    const model::Linear& m = *L.m;
    if (!m.binary) {
      fp::linear(x, tokens, m.in, m.weight.data(), m.bias.data(), m.out, y, rt.pool);
      return;
    }
    const int in = m.in, out = m.out, words = L.bw.words;
    // The channel factors read the mean of x over every token (the whole image or tile): partial
    // sums over fixed blocks of tokens, added in block order, so the result does not depend on
    // the thread count.
    std::vector<float> cfac;
    if (!m.fc1_w.empty()) {
      const int blocks = static_cast<int>((tokens + kTokensPerSumBlock - 1) / kTokensPerSumBlock);
      std::vector<double> part(static_cast<size_t>(blocks) * in, 0.0);
      rt.pool.parallel_for(blocks, [&](int b) {
        double* acc = part.data() + static_cast<size_t>(b) * in;
        const int64_t t1 = std::min<int64_t>(tokens, (b + 1) * kTokensPerSumBlock);
        for (int64_t t = static_cast<int64_t>(b) * kTokensPerSumBlock; t < t1; ++t)
          for (int i = 0; i < in; ++i) acc[i] += x[t * in + i];
      });
      std::vector<double> sum(in, 0.0);
      for (int b = 0; b < blocks; ++b)
        for (int i = 0; i < in; ++i) sum[i] += part[static_cast<size_t>(b) * in + i];
      cfac = bconv::channel_factors(m, sum, static_cast<double>(tokens));
    }
    const float* shift = m.shift.empty() ? nullptr : m.shift.data();
    const bool spatial = !m.spatial_w.empty();
    rt.pool.parallel_for(chunks(tokens), [&](int ch) {
      const int64_t t0 = static_cast<int64_t>(ch) * kTokensPerChunk;
      const int n = static_cast<int>(std::min<int64_t>(kTokensPerChunk, tokens - t0));
      const float* xc = x + t0 * in;
      float* yc = y + t0 * out;
      std::vector<uint64_t> bits(static_cast<size_t>(n) * words);
      std::vector<int32_t> ybin(static_cast<size_t>(n) * out);
      std::vector<float> sp(spatial ? n : 0);
      rt.kernel.pack(xc, n, in, shift, bits.data());
      rt.kernel.linear(bits.data(), n, L.bw, ybin.data());
      if (spatial) bconv::spatial_factors(m.spatial_w.data(), m.spatial_b, xc, n, in, sp.data());
      // y = res(x) (the FP residual matched to `out` channels; 0 without one), then y += ybin * g
      // in place (0 + v = v exactly: the same as PyTorch's residual-free y * g).
      if (!m.residual) std::fill(yc, yc + static_cast<size_t>(n) * out, 0.0f);
      for (int k = 0; k < n && m.residual; ++k) {
        const float* xt = xc + static_cast<size_t>(k) * in;
        float* yt = yc + static_cast<size_t>(k) * out;
        if (out >= in) {  // x repeated out / in times (once when out == in)
          for (int r = 0; r < out; r += in) std::copy(xt, xt + in, yt + r);
        } else {  // the mean of the in / out consecutive chunks of x
          const int kk = in / out;
          for (int o = 0; o < out; ++o) {
            float acc = 0.0f;
            for (int j = 0; j < kk; ++j) acc += xt[j * out + o];
            yt[o] = acc / static_cast<float>(kk);
          }
        }
      }
      bconv::epilogue_row(L.gk.data(), spatial ? sp.data() : nullptr, cfac.empty() ? nullptr : cfac.data(), ybin.data(),
                          nullptr, n, out, yc);
    });
  }

  // The per-layer buffers of one forward pass, allocated once and reused by every layer (fresh
  // ones per layer cost a page-fault and zero-fill pass over ~60 MB per layer at 128x128).
  struct Scratch {
    std::vector<float> n1, qkv, a, y, hid, q, k, v, o, sc;
    Scratch(int64_t L, int c, int mlp, int heads, int n)
        : n1(L * c),
          qkv(L * 3 * c),
          a(L * c),
          y(L * c),
          hid(L * mlp * c),
          q(L * c),
          k(L * c),
          v(L * c),
          o(L * c),
          sc(L * heads * n) {}
  };

  static void add_inplace(std::vector<float>& t, const std::vector<float>& y, Runtime& rt) {
    const int64_t size = static_cast<int64_t>(t.size()), part = 1 << 16;
    rt.pool.parallel_for(static_cast<int>((size + part - 1) / part), [&](int p) {
      const int64_t i1 = std::min(size, (p + 1) * part);
      for (int64_t i = p * part; i < i1; ++i) t[i] += y[i];
    });
  }

  void swin_layer(const LayerW& lw, std::vector<float>& t, int H, int W, Scratch& S, Runtime& rt) const {
    const model::SwinLayer& m = *lw.m;
    const int c = w_.info.channels;
    const int64_t L = static_cast<int64_t>(H) * W;
    fp::layer_norm(t.data(), L, c, m.norm1_w.data(), m.norm1_b.data(), S.n1.data(), rt.pool);
    linear(lw.qkv, S.n1.data(), L, S.qkv.data(), rt);
    attention(m, S, H, W, rt);
    linear(lw.proj, S.a.data(), L, S.y.data(), rt);
    add_inplace(t, S.y, rt);
    fp::layer_norm(t.data(), L, c, m.norm2_w.data(), m.norm2_b.data(), S.n1.data(), rt.pool);
    linear(lw.fc1, S.n1.data(), L, S.hid.data(), rt);
    fp::gelu_inplace(S.hid.data(), L * lw.fc1.m->out, rt.pool);
    linear(lw.fc2, S.hid.data(), L, S.y.data(), rt);
    add_inplace(t, S.y, rt);
  }

  // Windowed multi-head attention: S.qkv (L x 3C) -> S.a (L x C). Each pool task takes a group
  // of kWindowsPerTask windows through gather, QK^T, + bias (+ mask), softmax, AV and scatter,
  // so its scores (heads x N x N per window) are reused while still in cache instead of making
  // four passes over all of them (25 MB per layer at 128x128, 6 heads).
  void attention(const model::SwinLayer& m, Scratch& S, int H, int W, Runtime& rt) const {
    const std::vector<float>& qkv = S.qkv;
    std::vector<float>& out = S.a;
    const int ws = w_.window, c = w_.info.channels, heads = w_.heads, hd = c / heads, n = ws * ws, sh = m.shift;
    const int wy = H / ws, wx = W / ws, nw = wy * wx;
    const float scale = static_cast<float>(std::pow(static_cast<double>(hd), -0.5));
    // Token j of window (by, bx) in the rolled map is pixel ((by*ws + j/ws + sh) mod H, ...).
    auto src_token = [&](int win, int j) {
      const int y = ((win / wx) * ws + j / ws + sh) % H, x = ((win % wx) * ws + j % ws + sh) % W;
      return static_cast<size_t>(y) * W + x;
    };
    // The shifted regions' mask: region of rolled row r is (r >= H - ws) + (r >= H - sh), likewise
    // for columns; tokens of different regions get -100.
    auto region = [&](int win, int j) {
      const int r = (win / wx) * ws + j / ws, col = (win % wx) * ws + j % ws;
      const int ry = (r >= H - ws) + (r >= H - sh), rx = (col >= W - ws) + (col >= W - sh);
      return ry * 3 + rx;
    };
    const int tasks = (nw + kWindowsPerTask - 1) / kWindowsPerTask;
    rt.pool.parallel_for(tasks, [&](int task) {
      const int w0 = task * kWindowsPerTask, w1 = std::min(nw, w0 + kWindowsPerTask);
      const int64_t bh = static_cast<int64_t>(w1 - w0) * heads;
      // This group's slices of the layer scratch (window-major, then head).
      float* q = S.q.data() + static_cast<size_t>(w0) * heads * n * hd;
      float* k = S.k.data() + static_cast<size_t>(w0) * heads * n * hd;
      float* v = S.v.data() + static_cast<size_t>(w0) * heads * n * hd;
      float* o = S.o.data() + static_cast<size_t>(w0) * heads * n * hd;
      float* sc = S.sc.data() + static_cast<size_t>(w0) * heads * n * n;
      for (int win = w0; win < w1; ++win)
        for (int j = 0; j < n; ++j) {
          const float* src = qkv.data() + src_token(win, j) * 3 * c;
          for (int hh = 0; hh < heads; ++hh) {
            const size_t dst = ((static_cast<size_t>(win - w0) * heads + hh) * n + j) * hd;
            for (int d = 0; d < hd; ++d) {
              q[dst + d] = src[hh * hd + d] * scale;
              k[dst + d] = src[c + hh * hd + d];
              v[dst + d] = src[2 * c + hh * hd + d];
            }
          }
        }
      fp::batched_matmul(q, k, sc, bh, n, hd, n, /*b_transposed=*/true);
      std::vector<int> reg(n, 0);
      for (int win = w0; win < w1; ++win) {
        // Only windows on the bottom/right edges of a shifted layer hold more than one region.
        bool masked = false;
        if (sh)
          for (int j = 0; j < n; ++j) masked |= (reg[j] = region(win, j)) != reg[0];
        for (int hh = 0; hh < heads; ++hh) {
          float* s = sc + (static_cast<size_t>(win - w0) * heads + hh) * n * n;
          const float* b = m.position_bias.data() + static_cast<size_t>(hh) * n * n;
          for (int i = 0; i < n * n; ++i) s[i] = s[i] + b[i];
          if (masked)
            for (int i = 0; i < n; ++i)
              for (int j = 0; j < n; ++j)
                if (reg[i] != reg[j]) s[i * n + j] = s[i * n + j] + -100.0f;
        }
      }
      fp::softmax_rows_inplace(sc, bh * n, n);
      fp::batched_matmul(sc, v, o, bh, n, n, hd, /*b_transposed=*/false);
      for (int win = w0; win < w1; ++win)
        for (int j = 0; j < n; ++j) {
          float* dst = out.data() + src_token(win, j) * c;
          for (int hh = 0; hh < heads; ++hh) {
            const float* src = o + ((static_cast<size_t>(win - w0) * heads + hh) * n + j) * hd;
            for (int d = 0; d < hd; ++d) dst[hh * hd + d] = src[d];  // hd floats: a call to memmove costs more
          }
        }
    });
  }

  // t = conv_g(t): the binary residual conv (z = t + ybin * g) or the FP twin's plain conv.
  void group_conv(const GroupW& G, std::vector<float>& t, int H, int W, Runtime& rt) const {
    const int c = w_.info.channels;
    if (!G.conv->binary) {
      std::vector<float> y(t.size());
      G.fp->run(t.data(), H, W, y.data(), rt.pool.size());
      t.swap(y);
      return;
    }
    const model::ResConv& rc = *G.conv;
    bconv::PackedMap a;
    a.height = H;
    a.width = W;
    a.words = (c + 63) / 64;
    a.bits.assign(static_cast<size_t>(H + 2) * (W + 2) * a.words, 0);
    std::vector<float> s(static_cast<size_t>(H) * W);
    std::vector<double> sums(c, 0.0);
    for (int y = 0; y < H; ++y)
      bconv::prepare_row(rc, t.data() + static_cast<size_t>(y) * W * c, W, c,
                         a.bits.data() + (static_cast<size_t>(y + 1) * (W + 2) + 1) * a.words,
                         s.data() + static_cast<size_t>(y) * W, sums.data());
    const std::vector<float> cfac = bconv::channel_factors(rc, sums, static_cast<double>(H) * W);
    const bool spatial = !rc.spatial_w.empty(), channel = !rc.fc1_w.empty();
    rt.pool.parallel_for(H, [&](int y) {
      std::vector<int32_t> ybin(static_cast<size_t>(W) * c);
      rt.kernel.row(a, G.bw, y, ybin.data());
      bconv::epilogue_row(G.gk.data(), spatial ? s.data() + static_cast<size_t>(y) * W : nullptr,
                          channel ? cfac.data() : nullptr, ybin.data(), nullptr, W, c,
                          t.data() + static_cast<size_t>(y) * W * c);
    });
  }

  model::SwinirWeights w_;
  fp::Conv3x3 conv_first_, conv_after_body_, up_;
  std::vector<GroupW> groups_;
};

}  // namespace

std::unique_ptr<Network> make_swinir(model::SwinirWeights w) { return std::make_unique<Swinir>(std::move(w)); }

}  // namespace scales::net
