// SCALES-EDSR as a program of ops (net/op.h), read top to bottom:
//
//   x0 = in - rgb_mean                         input
//   f0 = head(x0)                              conv 3 -> C
//   f  = f0                                    copy
//   f  = body(f)                               binary_residual per conv (conv1 + PReLU, conv2 per
//                                              block, then body_end); the FP twin: conv_residual
//   f  = f + f0                                add
//   f  = shuffle_r(up_j(f)) for each stage     conv_shuffle C -> r*r*C -> C at r times the size
//   out = tail(f) + rgb_mean                   conv C -> 3, output
//
// A run that only collects image statistics (tiling's first pass) stops after the body.
#include "net/edsr.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "bconv/epilogue.h"
#include "fp/subpixel.h"

namespace scales::net {

namespace {

class Edsr final : public Network {
 public:
  explicit Edsr(model::EdsrWeights w) : w_(std::move(w)) {
    Program& p = prog_;
    const int x0 = p.tensor(), f0 = p.tensor(), f = p.tensor();
    op::Input in;
    std::copy(w_.rgb_mean, w_.rgb_mean + 3, in.mean);
    p.add(in, -1, x0);
    p.add(op::Conv{conv(w_.head)}, x0, f0, "head");
    p.add(op::Copy{}, f0, f);
    auto residual = [&](const model::ResConv& rc, const std::vector<float>* prelu, std::string tap) -> Op& {
      if (!rc.binary) return p.add(op::ConvResidual{conv(rc.fp), prelu}, f, f, std::move(tap));
      BinaryConvLayer& L = binary_.emplace_back();
      L.p = &rc;
      L.weights = bconv::make_bconv_weights(rc.weight_bits, w_.info.channels, w_.info.channels);
      L.gk = bconv::scale_factors(rc);
      return p.add(op::BinaryResidual{&L, prelu, p.stats_slots++}, f, f, std::move(tap));
    };
    for (size_t i = 0; i < w_.blocks.size(); ++i) {
      residual(w_.blocks[i].conv1, &w_.blocks[i].act, "");
      residual(w_.blocks[i].conv2, nullptr, "blocks." + std::to_string(i));
    }
    residual(w_.body_end, nullptr, "body_end").ends_stats_pass = true;
    p.add(op::Add{}, f0, f);
    int cur = f;
    for (size_t j = 0; j < w_.up.size(); ++j) {
      const int hr = p.tensor();
      p.add(upsampler(w_.up[j], w_.up_factor[j]), cur, hr);
      cur = hr;
    }
    const int rgb = p.tensor();
    p.add(op::Conv{conv(w_.tail)}, cur, rgb);
    op::Output out;
    std::copy(w_.rgb_mean, w_.rgb_mean + 3, out.mean);
    out.scale = w_.info.scale;
    p.add(out, rgb, -1);
  }

  const ModelInfo& info() const override { return w_.info; }
  const Program& program() const override { return prog_; }

  int context() const override {
    // Receptive radius in LR pixels: each 3x3 conv at upsampling factor R adds 1/R.
    double r = 1 + static_cast<double>(2 * w_.blocks.size() + 1);  // head + body at LR
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
    for (const auto& L : binary_)
      if (!L.p->fc1_w.empty()) return true;
    return false;
  }

 private:
  const fp::Conv3x3* conv(const fp::ConvParams& c) {
    return convs_.emplace_back(std::make_unique<fp::Conv3x3>(c)).get();
  }

  // Conv C -> r*r*C and pixel shuffle; the CPU runs the sub-pixel-major copy of the conv.
  op::ConvShuffle upsampler(const fp::ConvParams& u, int r) { return {conv(u), r, conv(fp::subpixel_major(u, r))}; }

  model::EdsrWeights w_;
  std::vector<std::unique_ptr<fp::Conv3x3>> convs_;
  std::deque<BinaryConvLayer> binary_;  // a deque: ops point at its elements
  Program prog_;
};

}  // namespace

std::unique_ptr<Network> make_edsr(model::EdsrWeights w) { return std::make_unique<Edsr>(std::move(w)); }

}  // namespace scales::net
