// SCALES-EDSR forward pass over one tile, read top to bottom:
//
//   x0 = in - rgb_mean                         (h, w, 3)
//   f0 = head(x0)                              FP conv 3 -> C            (oneDNN)
//   f  = body(f0)                              binary residual convs     (bconv kernels + fused epilogue)
//   f  = f + f0
//   f  = shuffle_r(up_j(f)) for each stage     FP conv C -> r*r*C, pixel shuffle, run as r*r
//                                              convs C -> C (one per sub-pixel) whose outputs are
//                                              copied straight into place: no r*r*C map, and
//                                              the shuffle copies whole C-channel runs
//   out = tail(f) + rgb_mean                   FP conv C -> 3
//
// The body is a flat list of residual convs read from the model file (conv1 + PReLU, conv2 per
// block, then body_end). A binary layer runs as one pass over rows: kernel row -> epilogue
// (scales, residual, PReLU) -> the next layer's packed signs, s[p] and channel sums, so each
// feature row is touched once per layer. Rows go to the thread pool in fixed chunks, so the
// result does not depend on the thread count.
#include "net/edsr.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "bconv/epilogue.h"
#include "bconv/pack.h"
#include "bconv/weights.h"
#include "fp/conv3x3.h"
#include "runtime/trace.h"
#include "runtime/workspace.h"

namespace scales::net {

namespace {

constexpr int kRowsPerChunk = 4;

// HWC float feature map in workspace memory (uninitialised when made).
struct Map {
  int h = 0, w = 0, c = 0;
  runtime::Workspace::Buffer buf;
  Map() = default;
  Map(runtime::Workspace& ws, int h_, int w_, int c_)
      : h(h_), w(w_), c(c_), buf(ws.acquire(static_cast<size_t>(h_) * w_ * c_)) {}
  float* data() const { return buf.data(); }
  size_t size() const { return static_cast<size_t>(h) * w * c; }
  float* row(int y) const { return data() + static_cast<size_t>(y) * w * c; }
  void release() { buf.reset(); }
};

struct BodyLayer {
  std::string tap_name;  // feature map name after this layer ("" = not tapped)
  const model::ResConv* rc;
  const std::vector<float>* prelu;  // slopes applied after this conv, or null
  bconv::BconvWeights bw;           // binary layers
  std::vector<float> gk;            // alpha * k
  std::unique_ptr<fp::Conv3x3> fp;  // FP twin layers
};

int chunks(int rows) { return (rows + kRowsPerChunk - 1) / kRowsPerChunk; }

class Edsr final : public Network {
 public:
  explicit Edsr(model::EdsrWeights w) : w_(std::move(w)), head_(w_.head), tail_(w_.tail) {
    for (size_t j = 0; j < w_.up.size(); ++j) {
      // Sub-pixel s = dy * r + dx of the shuffle takes output channels ch * r * r + s.
      const model::FpConv& u = w_.up[j];
      const int r2 = w_.up_factor[j] * w_.up_factor[j], c = u.in;
      std::vector<std::unique_ptr<fp::Conv3x3>> subs;
      for (int sp = 0; sp < r2; ++sp) {
        model::FpConv sub;
        sub.in = c;
        sub.out = c;
        for (int ch = 0; ch < c; ++ch) {
          const size_t o = static_cast<size_t>(ch) * r2 + sp;
          sub.weight.insert(sub.weight.end(), u.weight.begin() + o * c * 9, u.weight.begin() + (o + 1) * c * 9);
          sub.bias.push_back(u.bias[o]);
        }
        subs.push_back(std::make_unique<fp::Conv3x3>(sub));
      }
      up_.push_back(std::move(subs));
    }
    auto add = [&](const model::ResConv& rc, const std::vector<float>* prelu, std::string tap) {
      BodyLayer l{std::move(tap), &rc, prelu, {}, {}, nullptr};
      if (rc.binary) {
        l.bw = bconv::make_bconv_weights(rc.weight_bits, w_.info.channels, w_.info.channels);
        l.gk = bconv::scale_factors(rc);
      } else {
        l.fp = std::make_unique<fp::Conv3x3>(rc.fp);
      }
      body_.push_back(std::move(l));
    };
    for (size_t i = 0; i < w_.blocks.size(); ++i) {
      add(w_.blocks[i].conv1, &w_.blocks[i].act, "");
      add(w_.blocks[i].conv2, nullptr, "blocks." + std::to_string(i));
    }
    add(w_.body_end, nullptr, "body_end");
  }

  const ModelInfo& info() const override { return w_.info; }
  const model::EdsrWeights& weights() const { return w_; }

  int context() const override {
    // Receptive radius in LR pixels: each 3x3 conv at upsampling factor R adds 1/R.
    double r = 1 + static_cast<double>(body_.size());  // head + body at LR
    double res = 1;
    for (int f : w_.up_factor) {
      r += 1 / res;  // the conv before this pixel shuffle
      res *= f;
    }
    r += 1 / res;  // tail
    return static_cast<int>(r + 0.999999);
  }

  size_t bytes_per_pixel() const override {
    const size_t c = w_.info.channels, words = w_.words;
    size_t peak = 4 * 2 * c + 2 * 8 * words + 2 * 4;  // f0, f, two packed maps, two s maps
    size_t res2 = 1;
    for (int f : w_.up_factor) {
      const size_t r2 = static_cast<size_t>(f) * f;
      peak = std::max(peak, 4 * (2 * c * res2 + r2 * c * res2));  // input, one sub-pixel output, HR map
      res2 *= r2;
    }
    peak = std::max(peak, 4 * (c * res2 + 2 * 3 * res2));  // tail in, out, image
    return peak + 4 * 3 * 2;                               // the tile's input copies
  }

  bool uses_image_stats() const override {
    for (const auto& L : body_)
      if (!L.rc->fc1_w.empty()) return true;
    return false;
  }

  Image forward(const Image& in, Runtime& rt, const StatsPlan& stats) const override {
    const int h = in.height, w = in.width, c = w_.info.channels;
    const int threads = rt.pool.size();
    runtime::StageTrace trace;
    Map x0(rt.ws, h, w, 3);
    for (size_t i = 0; i < x0.size(); ++i) x0.data()[i] = in.rgb[i] - w_.rgb_mean[i % 3];
    Map f0(rt.ws, h, w, c);
    head_.run(x0.data(), h, w, f0.data(), threads);
    x0.release();
    tap(rt, "head", f0);
    trace.mark("head");

    Map f(rt.ws, h, w, c);
    std::copy(f0.data(), f0.data() + f0.size(), f.data());
    if (w_.info.binary)
      binary_body(f, rt, stats);
    else
      fp_body(f, rt);
    trace.mark("body");
    if (stats.collect) return {};
    rt.pool.parallel_for(chunks(h), [&](int ch) {
      const size_t lo = static_cast<size_t>(ch) * kRowsPerChunk * w * c;
      const size_t hi = std::min(f.size(), lo + static_cast<size_t>(kRowsPerChunk) * w * c);
      for (size_t i = lo; i < hi; ++i) f.data()[i] += f0.data()[i];
    });
    f0.release();
    trace.mark("skip");

    for (size_t j = 0; j < up_.size(); ++j) {
      f = upsample(f, j, rt);
      trace.mark("upsample");
    }
    Image out;
    out.width = f.w;
    out.height = f.h;
    out.rgb.resize(f.size() / c * 3);
    tail_.run(f.data(), f.h, f.w, out.rgb.data(), threads);
    f.release();
    trace.mark("tail");
    for (size_t i = 0; i < out.rgb.size(); ++i) out.rgb[i] += w_.rgb_mean[i % 3];
    return out;
  }

 private:
  static void tap(const Runtime& rt, const std::string& name, const Map& m) {
    if (rt.tap && !name.empty()) (*rt.tap)(name, m.h, m.w, m.c, m.data());
  }

  // Channel factors of layer li from the tile's sums, or from the image's (plan.use); in collect
  // mode the core's sums of the layer input are added to plan.collect first.
  std::vector<float> layer_cfac(size_t li, Map& x, const std::vector<double>& tile_sums, Runtime& rt,
                                const StatsPlan& plan) const {
    const model::ResConv& rc = *body_[li].rc;
    if (rc.fc1_w.empty()) return {};
    if (plan.collect) {
      auto& acc = plan.collect->layer_sums;
      if (acc.size() < body_.size()) acc.resize(body_.size());
      if (acc[li].empty()) acc[li].assign(x.c, 0.0);
      const tile::Rect& r = plan.core;
      std::vector<std::vector<double>> part(chunks(r.height()), std::vector<double>(x.c, 0.0));
      rt.pool.parallel_for(static_cast<int>(part.size()), [&](int ch) {
        for (int y = r.y0 + ch * kRowsPerChunk; y < std::min(r.y1, r.y0 + (ch + 1) * kRowsPerChunk); ++y)
          for (int xx = r.x0; xx < r.x1; ++xx) {
            const float* p = x.row(y) + static_cast<size_t>(xx) * x.c;
            for (int c = 0; c < x.c; ++c) part[ch][c] += p[c];
          }
      });
      for (const auto& p : part)
        for (int c = 0; c < x.c; ++c) acc[li][c] += p[c];
    }
    if (plan.use) return bconv::channel_factors(rc, plan.use->layer_sums.at(li), 1.0 * plan.use->pixels);
    return bconv::channel_factors(rc, tile_sums, 1.0 * x.h * x.w);
  }

  void binary_body(Map& x, Runtime& rt, const StatsPlan& plan) const {
    const int h = x.h, w = x.w, c = x.c, words = w_.words;
    const int n_chunks = chunks(h);
    bconv::PackedMap cur, nxt;
    for (auto* m : {&cur, &nxt}) {
      m->height = h;
      m->width = w;
      m->words = words;
      m->bits.assign(static_cast<size_t>(h + 2) * (w + 2) * words, 0);  // border stays 0 (= +1)
    }
    auto packed_row = [&](bconv::PackedMap& m, int y) {
      return m.bits.data() + (static_cast<size_t>(y + 1) * (w + 2) + 1) * words;
    };
    std::vector<float> s_cur(static_cast<size_t>(h) * w), s_nxt(s_cur.size());
    std::vector<std::vector<double>> sums(n_chunks, std::vector<double>(c));
    auto total_sums = [&] {
      std::vector<double> t(c, 0.0);
      for (const auto& s : sums)
        for (int ch = 0; ch < c; ++ch) t[ch] += s[ch];
      return t;
    };

    // The first layer's inputs: a pass of its own.
    rt.pool.parallel_for(n_chunks, [&](int ch) {
      std::fill(sums[ch].begin(), sums[ch].end(), 0.0);
      for (int y = ch * kRowsPerChunk; y < std::min(h, (ch + 1) * kRowsPerChunk); ++y)
        bconv::prepare_row(*body_[0].rc, x.row(y), w, c, packed_row(cur, y), s_cur.data() + size_t(y) * w,
                           sums[ch].data());
    });
    std::vector<float> cfac = layer_cfac(0, x, total_sums(), rt, plan);

    for (size_t li = 0; li < body_.size(); ++li) {
      const BodyLayer& L = body_[li];
      const model::ResConv* next = li + 1 < body_.size() ? body_[li + 1].rc : nullptr;
      const bool spatial = !L.rc->spatial_w.empty(), channel = !cfac.empty();
      rt.pool.parallel_for(n_chunks, [&](int ch) {
        std::vector<int32_t> ybin(static_cast<size_t>(w) * c);
        if (next) std::fill(sums[ch].begin(), sums[ch].end(), 0.0);
        for (int y = ch * kRowsPerChunk; y < std::min(h, (ch + 1) * kRowsPerChunk); ++y) {
          rt.kernel.row(cur, L.bw, y, ybin.data());
          bconv::epilogue_row(L.gk.data(), spatial ? s_cur.data() + size_t(y) * w : nullptr,
                              channel ? cfac.data() : nullptr, ybin.data(), L.prelu ? L.prelu->data() : nullptr, w, c,
                              x.row(y));
          if (next)
            bconv::prepare_row(*next, x.row(y), w, c, packed_row(nxt, y), s_nxt.data() + size_t(y) * w,
                               sums[ch].data());
        }
      });
      tap(rt, L.tap_name, x);
      if (next) {
        std::swap(cur, nxt);
        std::swap(s_cur, s_nxt);
        cfac = layer_cfac(li + 1, x, total_sums(), rt, plan);
      }
    }
  }

  void fp_body(Map& x, Runtime& rt) const {
    Map y(rt.ws, x.h, x.w, x.c);
    for (const auto& L : body_) {
      L.fp->run(x.data(), x.h, x.w, y.data(), rt.pool.size());
      for (size_t i = 0; i < x.size(); ++i) {
        float z = x.data()[i] + y.data()[i];
        if (L.prelu && z < 0.0f) z = (*L.prelu)[i % x.c] * z;
        x.data()[i] = z;
      }
      tap(rt, L.tap_name, x);
    }
  }

  // Conv C -> r*r*C then pixel shuffle: out[r*y+dy, r*x+dx, ch] = conv[y, x, ch*r*r + dy*r + dx],
  // one sub-pixel conv at a time.
  Map upsample(Map& f, size_t stage, Runtime& rt) const {
    const int r = w_.up_factor[stage], c = f.c;
    Map hr(rt.ws, f.h * r, f.w * r, c), g(rt.ws, f.h, f.w, c);
    for (int sp = 0; sp < r * r; ++sp) {
      const int dy = sp / r, dx = sp % r;
      up_[stage][sp]->run(f.data(), f.h, f.w, g.data(), rt.pool.size());
      rt.pool.parallel_for(chunks(f.h), [&](int ch) {
        for (int y = ch * kRowsPerChunk; y < std::min(f.h, (ch + 1) * kRowsPerChunk); ++y)
          for (int x = 0; x < f.w; ++x) {
            const float* src = g.data() + (static_cast<size_t>(y) * f.w + x) * c;
            std::copy(src, src + c, hr.data() + (static_cast<size_t>(r * y + dy) * hr.w + (r * x + dx)) * c);
          }
      });
    }
    f.release();
    return hr;
  }

  model::EdsrWeights w_;
  fp::Conv3x3 head_, tail_;
  std::vector<std::vector<std::unique_ptr<fp::Conv3x3>>> up_;  // [stage][sub-pixel]
  std::vector<BodyLayer> body_;
};

}  // namespace

std::unique_ptr<Network> make_edsr(model::EdsrWeights w) { return std::make_unique<Edsr>(std::move(w)); }

const model::EdsrWeights* edsr_weights(const Network& net) {
  const auto* e = dynamic_cast<const Edsr*>(&net);
  return e ? &e->weights() : nullptr;
}

}  // namespace scales::net
