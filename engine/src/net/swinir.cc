// SCALES-SwinIR as a program of ops (net/op.h), read top to bottom (docs/model-format.md,
// "SCALES-SwinIR"; models/scales_train/swinir.py is the same in PyTorch):
//
//   x0 = pad(in) - rgb_mean                      input, bottom/right to multiples of the window
//   f0 = conv_first(x0)                          conv 3 -> C
//   t  = LN(f0)                                  tokens = the map's pixels, row-major
//   per group: t_in = t
//     per layer:  t += proj(WA(qkv(LN1(t))))     binary linears + window attention (qkv inside WA's op)
//                 t += fc2(gelu(fc1(LN2(t))))    (LN1, LN2, gelu and the += inside the linears' ops)
//     t = conv_g(t) + t_in                       binary residual 3x3 conv (the FP twin: a plain conv)
//   f  = conv_after_body(LN(t)) + f0
//   out = shuffle_s(up(f)) + rgb_mean, cropped   conv_shuffle C -> 3 s^2 -> 3, output
#include "net/swinir.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "bconv/epilogue.h"
#include "fp/subpixel.h"

namespace scales::net {

namespace {

class Swinir final : public Network {
 public:
  explicit Swinir(model::SwinirWeights w) : w_(std::move(w)) {
    Program& p = prog_;
    const int x0 = p.tensor(), f0 = p.tensor(), t = p.tensor(), t_in = p.tensor(), qkv = p.tensor(), a = p.tensor(),
              hid = p.tensor();
    op::Input in;
    std::copy(w_.rgb_mean, w_.rgb_mean + 3, in.mean);
    in.align = w_.window;
    p.add(in, -1, x0).ends_stats_pass = true;  // no image statistics: a collecting run has nothing to do
    p.add(op::Conv{conv(w_.conv_first)}, x0, f0, "conv_first");
    p.add(op::LayerNorm{&w_.embed_norm_w, &w_.embed_norm_b}, f0, t);
    int cur = t;
    for (size_t g = 0; g < w_.body.size(); ++g) {
      const model::SwinGroup& G = w_.body[g];
      p.add(op::Copy{}, cur, t_in);
      for (const model::SwinLayer& l : G.layers) {
        if (l.qkv.binary) {  // qkv inside the attention op (net/op.h)
          p.add(op::WindowAttention{&l.position_bias, w_.heads, w_.window, l.shift, linear(l.qkv),
                                    norm(l.norm1_w, l.norm1_b)},
                cur, a);
        } else {
          p.add(op::Linear{linear(l.qkv), false, norm(l.norm1_w, l.norm1_b)}, cur, qkv);
          p.add(op::WindowAttention{&l.position_bias, w_.heads, w_.window, l.shift}, qkv, a);
        }
        p.add(op::Linear{linear(l.proj), false, nullptr, /*accumulate=*/true}, a, cur);
        p.add(op::Linear{linear(l.fc1), /*gelu=*/true, norm(l.norm2_w, l.norm2_b)}, cur, hid);
        p.add(op::Linear{linear(l.fc2), false, nullptr, /*accumulate=*/true}, hid, cur);
      }
      if (G.conv.binary) {
        BinaryConvLayer& L = binary_.emplace_back();
        L.p = &G.conv;
        L.weights = bconv::make_bconv_weights(G.conv.weight_bits, w_.info.channels, w_.info.channels);
        L.gk = bconv::scale_factors(G.conv);
        p.add(op::BinaryResidual{&L, nullptr, -1}, cur, cur);
      } else {  // the FP twin's group conv has no residual of its own
        const int next = p.tensor();
        p.add(op::Conv{conv(G.conv.fp)}, cur, next);
        cur = next;
      }
      p.add(op::Add{}, t_in, cur, "groups." + std::to_string(g));
    }
    p.add(op::LayerNorm{&w_.norm_w, &w_.norm_b}, cur, cur);
    const int f = p.tensor(), up = p.tensor();
    p.add(op::Conv{conv(w_.conv_after_body)}, cur, f);
    p.add(op::Add{}, f0, f);
    p.add(op::ConvShuffle{conv(w_.up), w_.info.scale, conv(fp::subpixel_major(w_.up, w_.info.scale))}, f, up);
    op::Output out;
    std::copy(w_.rgb_mean, w_.rgb_mean + 3, out.mean);
    out.scale = w_.info.scale;
    p.add(out, up, -1);
  }

  const ModelInfo& info() const override { return w_.info; }
  const Program& program() const override { return prog_; }

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

 private:
  const fp::Conv3x3* conv(const fp::ConvParams& c) {
    return convs_.emplace_back(std::make_unique<fp::Conv3x3>(c)).get();
  }

  const op::LayerNorm* norm(const std::vector<float>& w, const std::vector<float>& b) {
    return &norms_.emplace_back(op::LayerNorm{&w, &b});
  }

  const LinearLayer* linear(const model::Linear& l) {
    LinearLayer& L = linears_.emplace_back();
    L.p = &l;
    if (l.binary) {
      L.weights = blinear::make_blinear_weights(l.weight_bits, l.out, l.in);
      L.gk.resize(l.out);
      for (int o = 0; o < l.out; ++o) L.gk[o] = l.has_alpha ? l.alpha * l.weight_scale[o] : l.weight_scale[o];
    }
    return &L;
  }

  model::SwinirWeights w_;
  std::vector<std::unique_ptr<fp::Conv3x3>> convs_;
  std::deque<LinearLayer> linears_;  // deques: ops point at their elements
  std::deque<op::LayerNorm> norms_;
  std::deque<BinaryConvLayer> binary_;
  Program prog_;
};

}  // namespace

std::unique_ptr<Network> make_swinir(model::SwinirWeights w) { return std::make_unique<Swinir>(std::move(w)); }

}  // namespace scales::net
