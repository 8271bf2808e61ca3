// A linear layer per token on the CPU. Binary: sign bits of x + shift -> popcount GEMM (the
// dispatched ISA's kernel) -> z = res(x) + ybin * ((alpha k[o]) s[t]) c[o], the factors formed in
// the PyTorch order (bconv/epilogue.h), s[t] by the variant's vector form where it has one, then
// GELU on the chunk where the op asks (blinear/gelu.h), then y += the chunk where the op
// accumulates. FP (the twin): oneDNN's matmul, then oneDNN's GELU, then the whole-map add.
#include <algorithm>

#include "backend/cpu/ops.h"
#include "bconv/epilogue.h"
#include "blinear/gelu.h"
#include "fp/layer_norm.h"
#include "fp/ops.h"

namespace scales::backend::cpu {

namespace {

constexpr int kTokensPerChunk = 64;
constexpr int64_t kTokensPerSumBlock = 1024;  // channel-mean partial sums (fixed: thread-count independent)

int chunks(int64_t tokens) { return static_cast<int>((tokens + kTokensPerChunk - 1) / kTokensPerChunk); }

void binary_item(const net::LinearLayer& L, bool gelu, const net::op::LayerNorm* norm, bool accumulate, const float* x,
                 int64_t tokens, float* y, net::Runtime& rt) {
  const blinear::LinearParams& m = *L.p;
  const int in = m.in, out = m.out, words = L.weights.words;
  // With `norm` the rows read are LayerNorm(x), formed per block or chunk into per-thread scratch
  // (a token's LayerNorm does not depend on the others: the same bits as the whole map). The
  // channel sums' pass records each token's mean and rstd; the chunks' pass then only applies
  // them (fp::layer_norm_apply, the same bits).
  const fp::LayerNormFn ln = rt.kernel.layer_norm ? rt.kernel.layer_norm : fp::layer_norm_rows;
  std::vector<float> stats;
  bool have_stats = false;
  if (norm && !m.fc1_w.empty()) stats.resize(static_cast<size_t>(tokens) * 2);
  auto rows = [&](int64_t t0, int n, std::vector<float>& scratch) -> const float* {
    if (!norm) return x + t0 * in;
    scratch.resize(static_cast<size_t>(n) * in);
    if (have_stats)
      fp::layer_norm_apply(x + t0 * in, n, in, stats.data() + 2 * t0, norm->w->data(), norm->b->data(), scratch.data());
    else
      ln(x + t0 * in, n, in, norm->w->data(), norm->b->data(), scratch.data(),
         stats.empty() ? nullptr : stats.data() + 2 * t0);
    return scratch.data();
  };
  // The channel factors read the mean of x over every token (the whole image or tile): partial
  // sums over fixed blocks of tokens, added in block order, so the result does not depend on
  // the thread count.
  std::vector<float> cfac;
  if (!m.fc1_w.empty()) {
    const int blocks = static_cast<int>((tokens + kTokensPerSumBlock - 1) / kTokensPerSumBlock);
    std::vector<double> part(static_cast<size_t>(blocks) * in, 0.0);
    rt.pool.parallel_for(blocks, [&](int b) {
      double* acc = part.data() + static_cast<size_t>(b) * in;
      const int64_t t0 = static_cast<int64_t>(b) * kTokensPerSumBlock;
      const int64_t t1 = std::min<int64_t>(tokens, t0 + kTokensPerSumBlock);
      // Each channel adds its tokens in order, as the loop it replaced did, with the running sums
      // in registers (bconv/epilogue.h).
      thread_local std::vector<float> block;
      const float* xb = rows(t0, static_cast<int>(t1 - t0), block);
      bconv::channel_sums_row(xb, static_cast<int>(t1 - t0), in, acc);
    });
    std::vector<double> sum(in, 0.0);
    for (int b = 0; b < blocks; ++b)
      for (int i = 0; i < in; ++i) sum[i] += part[static_cast<size_t>(b) * in + i];
    cfac = bconv::channel_factors(m, sum, static_cast<double>(tokens));
    have_stats = !stats.empty();
  }
  const float* shift = m.shift.empty() ? nullptr : m.shift.data();
  const bool spatial = !m.spatial_w.empty();
  // The kernel variant's vector forms where it has them (bit for bit the generic ones).
  const bconv::SpatialFactorsFn spatial_fn =
      rt.kernel.spatial_factors ? rt.kernel.spatial_factors : bconv::spatial_factors;
  const blinear::GeluRowsFn gelu_fn = rt.kernel.gelu_rows ? rt.kernel.gelu_rows : blinear::gelu_rows;
  rt.pool.parallel_for(chunks(tokens), [&](int ch) {
    const int64_t t0 = static_cast<int64_t>(ch) * kTokensPerChunk;
    const int n = static_cast<int>(std::min<int64_t>(kTokensPerChunk, tokens - t0));
    thread_local std::vector<float> normed;
    const float* xc = rows(t0, n, normed);
    float* yc = y + t0 * out;
    // Per-thread scratch, kept between chunks and calls: a chunk is 4 KB-24 KB, and three
    // allocations per 64 tokens were a visible share of a SwinIR forward.
    thread_local std::vector<uint64_t> bits;
    thread_local std::vector<int32_t> ybin;
    thread_local std::vector<float> sp;
    bits.resize(static_cast<size_t>(kTokensPerChunk) * words);
    ybin.resize(static_cast<size_t>(kTokensPerChunk) * out);
    sp.resize(kTokensPerChunk);
    rt.kernel.pack(xc, n, in, shift, bits.data());
    rt.kernel.linear(bits.data(), n, L.weights, ybin.data());
    if (spatial) spatial_fn(m.spatial_w.data(), m.spatial_b, xc, n, in, sp.data());
    // y = res(x) (the FP residual matched to `out` channels; 0 without one), then y += ybin * g
    // in place (0 + v = v exactly: the same as PyTorch's residual-free y * g).
    const float* s_row = spatial ? sp.data() : nullptr;
    const float* c_row = cfac.empty() ? nullptr : cfac.data();
    // With `accumulate` the chunk's result goes to scratch (in L1) and is then added to y: the
    // same sum as a whole-map add, without writing the linear's output map.
    thread_local std::vector<float> part;
    if (accumulate) part.resize(static_cast<size_t>(kTokensPerChunk) * out);
    float* zc = accumulate ? part.data() : yc;
    if (m.residual && out % in == 0) {  // x (repeated): read in the epilogue, not copied to y first
      bconv::epilogue_row_repeat(L.gk.data(), s_row, c_row, ybin.data(), n, out, xc, in, zc);
    } else if (m.residual && in % out == 0) {  // the mean of x's in / out chunks, likewise in the epilogue
      bconv::epilogue_row_mean(L.gk.data(), s_row, c_row, ybin.data(), n, out, xc, in, zc);
    } else {
      if (!m.residual) std::fill(zc, zc + static_cast<size_t>(n) * out, 0.0f);
      for (int k = 0; k < n && m.residual; ++k) {
        const float* xt = xc + static_cast<size_t>(k) * in;
        float* zt = zc + static_cast<size_t>(k) * out;
        if (out >= in) {  // x repeated out / in times (once when out == in)
          for (int r = 0; r < out; r += in) std::copy(xt, xt + in, zt + r);
        } else {  // the mean of the in / out consecutive chunks of x
          const int kk = in / out;
          for (int o = 0; o < out; ++o) {
            float acc = 0.0f;
            for (int j = 0; j < kk; ++j) acc += xt[j * out + o];
            zt[o] = acc / static_cast<float>(kk);
          }
        }
      }
      // (The variant's fused epilogue was tried here: at SwinIR's 60/120/180 outputs it takes its
      // masked path and was slower than this row function's vectorised clone.)
      bconv::epilogue_row(L.gk.data(), s_row, c_row, ybin.data(), nullptr, n, out, zc);
    }
    const size_t count = static_cast<size_t>(n) * out;
    if (gelu) gelu_fn(zc, count);
    if (accumulate)
      for (size_t k = 0; k < count; ++k) yc[k] = yc[k] + zc[k];
  });
}

}  // namespace

void linear(const net::op::Linear& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt) {
  const blinear::LinearParams& m = *p.layer->p;
  if (x.c != m.in)
    throw Error("linear: input has " + std::to_string(x.c) + " channels, the layer takes " + std::to_string(m.in));
  const int64_t tokens = static_cast<int64_t>(x.h) * x.w;
  Tensor out;
  if (p.accumulate) {
    if (!y.on_host || y.h != x.h || y.w != x.w || y.c != m.out || static_cast<int>(y.host.size()) < b.size())
      throw Error("linear: the map it adds into has another shape than its output");
  } else {
    out.make_host(*b.host_memory, b.size(), x.h, x.w, m.out);
  }
  Tensor& dst = p.accumulate ? y : out;
  for (int i = 0; i < b.size(); ++i) {
    if (m.binary) {
      binary_item(*p.layer, p.gelu, p.norm, p.accumulate, x.item(i), tokens, dst.item(i), rt);
    } else {
      const float* xi = x.item(i);
      runtime::Workspace::Buffer normed, sum;
      if (p.norm) {  // the FP twin: the LayerNorm whole, then oneDNN's matmul
        normed = rt.ws.acquire(static_cast<size_t>(tokens) * m.in);
        const fp::LayerNormFn ln = rt.kernel.layer_norm ? rt.kernel.layer_norm : fp::layer_norm_rows;
        constexpr int64_t kRows = 256;
        rt.pool.parallel_for(static_cast<int>((tokens + kRows - 1) / kRows), [&](int task) {
          const int64_t t0 = task * kRows, n = std::min(kRows, tokens - t0);
          ln(xi + t0 * m.in, n, m.in, p.norm->w->data(), p.norm->b->data(), normed.data() + t0 * m.in, nullptr);
        });
        xi = normed.data();
      }
      float* yi = dst.item(i);
      if (p.accumulate) sum = rt.ws.acquire(static_cast<size_t>(tokens) * m.out);
      float* zi = p.accumulate ? sum.data() : yi;
      fp::linear(xi, tokens, m.in, m.weight.data(), m.bias.data(), m.out, zi, rt.pool);
      if (p.gelu) fp::gelu_inplace(zi, tokens * m.out, rt.pool);  // the FP twin: oneDNN's
      if (p.accumulate)                                           // the FP twin keeps its whole-map add
        for (int64_t k = 0; k < tokens * m.out; ++k) yi[k] = yi[k] + zi[k];
    }
  }
  if (!p.accumulate) y = std::move(out);
}

}  // namespace scales::backend::cpu
