// A linear layer per token on the CPU. Binary: BinaryLinear (binary_linear.h) over chunks of 64
// consecutive tokens, then y += the chunk where the op accumulates. FP (the twin): oneDNN's
// matmul, then oneDNN's GELU, then the whole-map add.
#include <algorithm>

#include "backend/cpu/binary_linear.h"
#include "backend/cpu/ops.h"
#include "fp/layer_norm.h"
#include "fp/ops.h"

namespace scales::backend::cpu {

namespace {

constexpr int kTokensPerChunk = BinaryLinear::kMaxRows;
static_assert(kTokensPerChunk == BinaryLinear::kSumBlock, "a chunk is one block of the next reader's InputStats");

// rec_in: x's recorded stats (or null); rec_out: the next reader's, to record into (or null).
void binary_item(const net::op::Linear& p, const float* x, int64_t tokens, float* y, const InputStats* rec_in,
                 InputStats* rec_out, net::Runtime& rt) {
  const int out = p.layer->p->out, in = p.layer->p->in;
  BinaryLinear lin(*p.layer, p.norm, p.gelu, rt);
  lin.prepare(x, tokens, rec_in);
  const float* stats = lin.stats();
  const int chunks = static_cast<int>((tokens + kTokensPerChunk - 1) / kTokensPerChunk);
  rt.pool.parallel_for(chunks, [&](int ch) {
    const int64_t t0 = static_cast<int64_t>(ch) * kTokensPerChunk;
    const int n = static_cast<int>(std::min<int64_t>(kTokensPerChunk, tokens - t0));
    float* yc = y + t0 * out;
    if (!p.accumulate) {
      lin.rows(x + t0 * in, stats ? stats + 2 * t0 : nullptr, n, yc);
    } else {
      // y += the chunk: the chunk's result in scratch (in L1), then added (the same sum as a
      // whole-map add, without writing the linear's output map).
      thread_local std::vector<float> part;
      part.resize(static_cast<size_t>(kTokensPerChunk) * out);
      lin.rows(x + t0 * in, stats ? stats + 2 * t0 : nullptr, n, part.data());
      const size_t count = static_cast<size_t>(n) * out;
      for (size_t k = 0; k < count; ++k) yc[k] = yc[k] + part[k];
    }
    // The chunk is final and still in L1: the next reader's block of stats from it.
    if (rec_out) BinaryLinear::record_block(*rec_out, ch, yc, n, rt);
  });
}

}  // namespace

void linear(const net::op::Linear& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt, StatsReader next) {
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
  // y's old stats are stale once it is written; the next reader's are recorded as it is (not
  // where y is x itself: x's would be gone before they were read).
  const bool in_place = &dst == &x;
  if (!in_place) {
    dst.input_stats.clear();
    if (m.binary && next.layer && next.layer->p->in == m.out) {
      dst.input_stats.resize(b.size());
      bool wanted = true;  // the same answer for every item
      for (InputStats& s : dst.input_stats) wanted = BinaryLinear::start_record(s, *next.layer, next.norm, tokens);
      if (!wanted) dst.input_stats.clear();
    }
  }
  for (int i = 0; i < b.size(); ++i) {
    if (m.binary) {
      const InputStats* rec_in = i < static_cast<int>(x.input_stats.size()) ? &x.input_stats[i] : nullptr;
      InputStats* rec_out = dst.input_stats.empty() ? nullptr : &dst.input_stats[i];
      binary_item(p, x.item(i), tokens, dst.item(i), rec_in, rec_out, rt);
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
  if (in_place) dst.input_stats.clear();
  if (!p.accumulate) y = std::move(out);
}

}  // namespace scales::backend::cpu
