#include "backend/cpu/binary_linear.h"

#include <algorithm>
#include <string>

#include "bconv/epilogue.h"
#include "blinear/gelu.h"
#include "fp/layer_norm.h"

namespace scales::backend::cpu {

namespace {

fp::LayerNormFn layer_norm_fn(const net::Runtime& rt) {
  return rt.kernel.layer_norm ? rt.kernel.layer_norm : fp::layer_norm_rows;
}

// One block's channel sums (each channel adds its tokens in order, the running sums in registers:
// bconv/epilogue.h) into part (channels), of LayerNorm(y) where there is a norm, writing each
// token's mean and rstd into st (the same bits as forming the LayerNorm again). The one
// definition of a block, for prepare()'s pass and for a producer's record_block.
void sum_block(const float* y, int n, int channels, const net::op::LayerNorm* norm, const net::Runtime& rt,
               double* part, float* st) {
  thread_local std::vector<float> normed;
  if (norm) {
    normed.resize(static_cast<size_t>(n) * channels);
    layer_norm_fn(rt)(y, n, channels, norm->w->data(), norm->b->data(), normed.data(), st);
    y = normed.data();
  }
  std::fill(part, part + channels, 0.0);
  bconv::channel_sums_row(y, n, channels, part);
}

}  // namespace

BinaryLinear::BinaryLinear(const net::LinearLayer& layer, const net::op::LayerNorm* norm, bool gelu, net::Runtime& rt)
    : L_(layer), norm_(norm), gelu_(gelu), rt_(rt) {}

bool BinaryLinear::start_record(InputStats& s, const net::LinearLayer& reader, const net::op::LayerNorm* norm,
                                int64_t tokens) {
  s = InputStats{};
  if (!reader.p->binary || reader.p->fc1_w.empty()) return false;  // prepare() makes no pass
  s.reader = &reader;
  s.norm = norm;
  s.tokens = tokens;
  s.channels = reader.p->in;
  s.block_sums.assign(static_cast<size_t>((tokens + kSumBlock - 1) / kSumBlock) * s.channels, 0.0);
  if (norm) s.token_stats.resize(static_cast<size_t>(tokens) * 2);
  return true;
}

void BinaryLinear::record_block(InputStats& s, int64_t block, const float* y, int n, const net::Runtime& rt) {
  const int64_t t0 = block * kSumBlock;
  sum_block(y, n, s.channels, static_cast<const net::op::LayerNorm*>(s.norm), rt,
            s.block_sums.data() + static_cast<size_t>(block) * s.channels,
            s.norm ? s.token_stats.data() + 2 * t0 : nullptr);
}

void BinaryLinear::prepare(const float* x, int64_t tokens, const InputStats* recorded) {
  const blinear::LinearParams& m = *L_.p;
  cfac_.clear();
  have_stats_ = false;
  if (m.fc1_w.empty()) return;  // no channel factors: nothing reads the whole map
  const int in = m.in;
  const int64_t blocks = (tokens + kSumBlock - 1) / kSumBlock;
  const double* part = nullptr;
  std::vector<double> own;
  if (recorded && recorded->reader == &L_ && recorded->norm == norm_ && recorded->tokens == tokens &&
      recorded->channels == in) {
    part = recorded->block_sums.data();
    stats_ptr_ = recorded->token_stats.data();
  } else {
    // The pass: blocks grouped into pool tasks, each block summed on its own (sum_block).
    constexpr int64_t kBlocksPerTask = 16;
    own.assign(static_cast<size_t>(blocks) * in, 0.0);
    if (norm_) stats_.resize(static_cast<size_t>(tokens) * 2);
    rt_.pool.parallel_for(static_cast<int>((blocks + kBlocksPerTask - 1) / kBlocksPerTask), [&](int task) {
      for (int64_t b = task * kBlocksPerTask; b < std::min(blocks, (task + 1) * kBlocksPerTask); ++b) {
        const int64_t t0 = b * kSumBlock;
        const int n = static_cast<int>(std::min<int64_t>(tokens, t0 + kSumBlock) - t0);
        sum_block(x + t0 * in, n, in, norm_, rt_, own.data() + static_cast<size_t>(b) * in,
                  norm_ ? stats_.data() + 2 * t0 : nullptr);
      }
    });
    part = own.data();
    stats_ptr_ = stats_.data();
  }
  std::vector<double> sum(in, 0.0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int i = 0; i < in; ++i) sum[i] += part[static_cast<size_t>(b) * in + i];
  cfac_ = bconv::channel_factors(m, sum, static_cast<double>(tokens));
  have_stats_ = norm_ != nullptr;
}

void BinaryLinear::rows(const float* xr, const float* st, int n, float* z) const {
  const blinear::LinearParams& m = *L_.p;
  const int in = m.in, out = m.out, words = L_.weights.words;
  // The scratch below holds kMaxRows tokens: a caller passing more is a bug, refused before it
  // writes past the end.
  if (n < 0 || n > kMaxRows)
    throw Error("binary linear: " + std::to_string(n) + " rows in one call, at most " + std::to_string(kMaxRows));
  // Per-thread scratch, kept between calls: a call's is 4 KB-24 KB, and allocations per 64
  // tokens were a visible share of a SwinIR forward.
  thread_local std::vector<float> normed, sp;
  thread_local std::vector<uint64_t> bits;
  thread_local std::vector<int32_t> ybin;
  const float* xc = xr;
  if (norm_) {
    normed.resize(static_cast<size_t>(kMaxRows) * in);
    if (st)
      fp::layer_norm_apply(xr, n, in, st, norm_->w->data(), norm_->b->data(), normed.data());
    else
      layer_norm_fn(rt_)(xr, n, in, norm_->w->data(), norm_->b->data(), normed.data(), nullptr);
    xc = normed.data();
  }
  bits.resize(static_cast<size_t>(kMaxRows) * words);
  ybin.resize(static_cast<size_t>(kMaxRows) * out);
  sp.resize(kMaxRows);
  rt_.kernel.pack(xc, n, in, m.shift.empty() ? nullptr : m.shift.data(), bits.data());
  rt_.kernel.linear(bits.data(), n, L_.weights, ybin.data());
  const bool spatial = !m.spatial_w.empty();
  // The kernel variant's vector forms where it has them (bit for bit the generic ones).
  if (spatial) {
    const bconv::SpatialFactorsFn fn = rt_.kernel.spatial_factors ? rt_.kernel.spatial_factors : bconv::spatial_factors;
    fn(m.spatial_w.data(), m.spatial_b, xc, n, in, sp.data());
  }
  const float* s_row = spatial ? sp.data() : nullptr;
  const float* c_row = cfac_.empty() ? nullptr : cfac_.data();
  // z = res(x) (the FP residual matched to `out` channels; 0 without one), then z += ybin * g
  // (0 + v = v exactly: the same as PyTorch's residual-free y * g).
  // The variant's vector forms of the residual epilogues where it has them (blinear/epilogue.h).
  if (m.residual && out % in == 0) {  // x (repeated): read in the epilogue, not copied to z first
    const blinear::ResidualEpilogueFn fn =
        rt_.kernel.epilogue_repeat ? rt_.kernel.epilogue_repeat : bconv::epilogue_row_repeat;
    fn(L_.gk.data(), s_row, c_row, ybin.data(), n, out, xc, in, z);
  } else if (m.residual && in % out == 0) {  // the mean of x's in / out chunks, likewise in the epilogue
    const blinear::ResidualEpilogueFn fn =
        rt_.kernel.epilogue_mean ? rt_.kernel.epilogue_mean : bconv::epilogue_row_mean;
    fn(L_.gk.data(), s_row, c_row, ybin.data(), n, out, xc, in, z);
  } else if (!m.residual && rt_.kernel.epilogue_plain) {  // no residual (qkv, fc1, fc2): one pass, no zero fill
    rt_.kernel.epilogue_plain(L_.gk.data(), s_row, c_row, ybin.data(), n, out, z);
  } else {
    // No residual without a vector form, or neither width divides the other (no SwinIR layer):
    // the general residual (zeros without one), then the epilogue.
    if (!m.residual) std::fill(z, z + static_cast<size_t>(n) * out, 0.0f);
    for (int k = 0; k < n && m.residual; ++k) {
      const float* xt = xc + static_cast<size_t>(k) * in;
      float* zt = z + static_cast<size_t>(k) * out;
      if (out >= in) {  // x repeated (the model reader takes only whole multiples)
        for (int r = 0; r < out; r += in) std::copy(xt, xt + std::min(in, out - r), zt + r);
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
    bconv::epilogue_row(L_.gk.data(), s_row, c_row, ybin.data(), nullptr, n, out, z);
  }
  if (gelu_) {
    const blinear::GeluRowsFn fn = rt_.kernel.gelu_rows ? rt_.kernel.gelu_rows : blinear::gelu_rows;
    fn(z, static_cast<size_t>(n) * out);
  }
}

}  // namespace scales::backend::cpu
