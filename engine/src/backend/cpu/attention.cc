// Windowed multi-head self-attention on the CPU: qkv (L x 3C) -> (L x C). Where the kernel variant
// has a fused window kernel (attn/window.h: AVX-512, AVX2) and the shape fits it, each window
// goes through it in one pass (fused_item); where the op also holds a binary qkv, each window's
// qkv is formed just before, so the qkv map never exists whole (fused_qkv_item). Otherwise, the
// generic path (attention_item): each pool task takes a group of kWindowsPerTask windows through
// gather, QK^T, + bias (+ mask), softmax, AV and scatter with oneDNN, so its scores (heads x N x
// N per window) are reused while still in cache instead of making four passes over all of them
// (25 MB per layer at 128x128, 6 heads).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "attn/window.h"
#include "backend/cpu/binary_linear.h"
#include "backend/cpu/ops.h"
#include "fp/ops.h"

namespace scales::backend::cpu {

namespace {

constexpr int kWindowsPerTask = 4;  // windows per pool task (6 heads: 400 KB of scores)

// Where window `win`'s token j comes from, and its shift region: the one definition both paths
// use. Token j of window (by, bx) in the rolled map is pixel ((by*ws + j/ws + sh) mod H, ...);
// the region of rolled row r is (r >= H - ws) + (r >= H - sh), likewise for columns, and tokens
// of different regions are masked with -100.
struct WindowMap {
  int H, W, ws, sh, wx;
  size_t token(int win, int j) const {
    const int y = ((win / wx) * ws + j / ws + sh) % H, x = ((win % wx) * ws + j % ws + sh) % W;
    return static_cast<size_t>(y) * W + x;
  }
  int region(int win, int j) const {
    const int r = (win / wx) * ws + j / ws, col = (win % wx) * ws + j % ws;
    return ((r >= H - ws) + (r >= H - sh)) * 3 + (col >= W - ws) + (col >= W - sh);
  }
};

void attention_item(const net::op::WindowAttention& m, const float* qkv, int H, int W, int c, float* out,
                    net::Runtime& rt) {
  const int ws = m.window, heads = m.heads, hd = c / heads, n = ws * ws, sh = m.shift;
  const int wy = H / ws, wx = W / ws, nw = wy * wx;
  const int64_t L = static_cast<int64_t>(H) * W;
  const float scale = static_cast<float>(std::pow(static_cast<double>(hd), -0.5));
  // Scratch, window-major then head: q, k, v, o (L x C each) and the scores (heads x N per token).
  auto q_all = rt.ws.acquire(L * c), k_all = rt.ws.acquire(L * c), v_all = rt.ws.acquire(L * c),
       o_all = rt.ws.acquire(L * c), sc_all = rt.ws.acquire(L * heads * n);
  const WindowMap map{H, W, ws, sh, wx};
  auto src_token = [&](int win, int j) { return map.token(win, j); };
  auto region = [&](int win, int j) { return map.region(win, j); };
  const int tasks = (nw + kWindowsPerTask - 1) / kWindowsPerTask;
  rt.pool.parallel_for(tasks, [&](int task) {
    const int w0 = task * kWindowsPerTask, w1 = std::min(nw, w0 + kWindowsPerTask);
    const int64_t bh = static_cast<int64_t>(w1 - w0) * heads;
    float* q = q_all.data() + static_cast<size_t>(w0) * heads * n * hd;
    float* k = k_all.data() + static_cast<size_t>(w0) * heads * n * hd;
    float* v = v_all.data() + static_cast<size_t>(w0) * heads * n * hd;
    float* o = o_all.data() + static_cast<size_t>(w0) * heads * n * hd;
    float* sc = sc_all.data() + static_cast<size_t>(w0) * heads * n * n;
    for (int win = w0; win < w1; ++win)
      for (int j = 0; j < n; ++j) {
        const float* src = qkv + src_token(win, j) * 3 * c;
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
        const float* b = m.position_bias->data() + static_cast<size_t>(hh) * n * n;
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
        float* dst = out + src_token(win, j) * c;
        for (int hh = 0; hh < heads; ++hh) {
          const float* src = o + ((static_cast<size_t>(win - w0) * heads + hh) * n + j) * hd;
          for (int d = 0; d < hd; ++d) dst[hh * hd + d] = src[d];  // hd floats: a call to memmove costs more
        }
      }
  });
}

// The fused kernels' arguments common to every window: the position bias transposed to
// [head][key][query] once per call (into bias_t), the head layout and the scale.
attn::WindowArgs fused_args(const net::op::WindowAttention& m, int c, std::vector<float>& bias_t) {
  const int ws = m.window, heads = m.heads, hd = c / heads, n = ws * ws;
  bias_t.resize(static_cast<size_t>(heads) * n * n);
  const float* b = m.position_bias->data();
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        bias_t[(static_cast<size_t>(h) * n + j) * n + i] = b[(static_cast<size_t>(h) * n + i) * n + j];
  attn::WindowArgs a;
  a.bias_t = bias_t.data();
  a.n = n;
  a.c = c;
  a.heads = heads;
  a.scale = static_cast<float>(std::pow(static_cast<double>(hd), -0.5));
  return a;
}

// Window `win`'s token rows (WindowMap) into token, and its shift regions into region; returns
// whether the window needs the mask (only windows on the bottom/right edges of a shifted layer
// hold more than one region).
bool window_tokens(const WindowMap& map, int win, int n, int32_t* token, uint8_t* region) {
  bool masked = false;
  for (int j = 0; j < n; ++j) {
    token[j] = static_cast<int32_t>(map.token(win, j));  // fused_fits keeps L * 3C within int32
    if (map.sh) {
      region[j] = static_cast<uint8_t>(map.region(win, j));
      masked |= region[j] != region[0];
    }
  }
  return masked;
}

// The fused path over a qkv map: one kernel call per window, reading q, k, v in place.
void fused_item(const net::op::WindowAttention& m, const float* qkv, int H, int W, int c, float* out,
                net::Runtime& rt) {
  const int ws = m.window, n = ws * ws;
  const int wx = W / ws, nw = (H / ws) * wx;
  const WindowMap map{H, W, ws, m.shift, wx};
  std::vector<float> bias_t;
  attn::WindowArgs base = fused_args(m, c, bias_t);
  base.qkv = qkv;
  base.out = out;
  const attn::WindowFn fn = rt.kernel.window_attention;
  const int tasks = (nw + kWindowsPerTask - 1) / kWindowsPerTask;
  rt.pool.parallel_for(tasks, [&](int task) {
    int32_t token[attn::kMaxTokens];
    uint8_t region[attn::kMaxTokens];
    for (int win = task * kWindowsPerTask; win < std::min(nw, (task + 1) * kWindowsPerTask); ++win) {
      attn::WindowArgs a = base;
      a.token = token;
      a.region = window_tokens(map, win, n, token, region) ? region : nullptr;
      fn(a);
    }
  });
}

// The fused path with a binary qkv (op.qkv): x is the C-channel stream. After qkv's pass over the
// whole map (its channel factors, and LayerNorm stats: BinaryLinear::prepare), each window's
// tokens are gathered (x rows and stats), their qkv formed into a per-thread n x 3C buffer (46
// KB at window 8 and C 60: it stays in L2 for the kernel), and the kernel reads it there. The
// qkv values are those of op Linear to the bit (BinaryLinear::rows is per token).
void fused_qkv_item(const net::op::WindowAttention& m, const float* x, const InputStats* x_stats, int H, int W, int c,
                    float* out, net::Runtime& rt) {
  const int ws = m.window, n = ws * ws;
  const int wx = W / ws, nw = (H / ws) * wx;
  const WindowMap map{H, W, ws, m.shift, wx};
  BinaryLinear qkv(*m.qkv, m.norm, false, rt);
  qkv.prepare(x, static_cast<int64_t>(H) * W, x_stats);
  const float* stats = qkv.stats();
  std::vector<float> bias_t;
  attn::WindowArgs base = fused_args(m, c, bias_t);
  base.out = out;
  std::vector<int32_t> own_rows(n);
  for (int j = 0; j < n; ++j) own_rows[j] = j;
  base.qkv_row = own_rows.data();
  const attn::WindowFn fn = rt.kernel.window_attention;
  const int tasks = (nw + kWindowsPerTask - 1) / kWindowsPerTask;
  rt.pool.parallel_for(tasks, [&](int task) {
    int32_t token[attn::kMaxTokens];
    uint8_t region[attn::kMaxTokens];
    thread_local std::vector<float> xg, sg, qkv_w;
    xg.resize(static_cast<size_t>(n) * c);
    sg.resize(static_cast<size_t>(n) * 2);
    qkv_w.resize(static_cast<size_t>(n) * 3 * c);
    for (int win = task * kWindowsPerTask; win < std::min(nw, (task + 1) * kWindowsPerTask); ++win) {
      attn::WindowArgs a = base;
      a.token = token;
      a.region = window_tokens(map, win, n, token, region) ? region : nullptr;
      for (int j = 0; j < n; ++j) {
        const float* src = x + static_cast<size_t>(token[j]) * c;
        std::copy(src, src + c, xg.data() + static_cast<size_t>(j) * c);
        if (stats) {
          sg[2 * j] = stats[2 * static_cast<size_t>(token[j])];
          sg[2 * j + 1] = stats[2 * static_cast<size_t>(token[j]) + 1];
        }
      }
      for (int j0 = 0; j0 < n; j0 += BinaryLinear::kMaxRows) {
        const int rows = std::min(BinaryLinear::kMaxRows, n - j0);
        qkv.rows(xg.data() + static_cast<size_t>(j0) * c, stats ? sg.data() + 2 * j0 : nullptr, rows,
                 qkv_w.data() + static_cast<size_t>(j0) * 3 * c);
      }
      a.qkv = qkv_w.data();
      fn(a);
    }
  });
}

}  // namespace

void window_attention(const net::op::WindowAttention& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  const int c = p.qkv ? x.c : x.c / 3, n = p.window * p.window;
  if (p.qkv ? p.qkv->p->in != c || p.qkv->p->out != 3 * c : x.c % 3 != 0)
    throw Error("window attention: the input must be 3C channels, or C with a C -> 3C qkv");
  if (x.h % p.window || x.w % p.window) throw Error("window attention: the map must be whole windows");
  const bool fused = rt.kernel.window_attention &&
                     attn::fused_fits(n, c, p.heads, rt.kernel.attention_lanes, static_cast<int64_t>(x.h) * x.w);
  if (p.qkv && !(fused && p.qkv->p->binary)) {  // the qkv map whole first (op Linear), then as without qkv
    Tensor qkv;
    linear(net::op::Linear{p.qkv, false, p.norm}, b, x, qkv, rt);
    net::op::WindowAttention plain = p;
    plain.qkv = nullptr;
    plain.norm = nullptr;
    window_attention(plain, b, qkv, y, rt);
    return;
  }
  Tensor out;
  out.make_host(*b.host_memory, b.size(), x.h, x.w, c);
  for (int i = 0; i < b.size(); ++i) {
    if (p.qkv)
      fused_qkv_item(p, x.item(i), i < static_cast<int>(x.input_stats.size()) ? &x.input_stats[i] : nullptr, x.h, x.w,
                     c, out.item(i), rt);
    else if (fused)
      fused_item(p, x.item(i), x.h, x.w, c, out.item(i), rt);
    else
      attention_item(p, x.item(i), x.h, x.w, c, out.item(i), rt);
  }
  y = std::move(out);
}

}  // namespace scales::backend::cpu
