#include "net/edsr.h"

#include "bconv/bconv3x3_ref.h"
#include "bconv/epilogue.h"
#include "bconv/pack.h"
#include "fp/conv3x3.h"

namespace scales::net {

namespace {

// HWC float feature map.
struct Map {
  int h = 0, w = 0, c = 0;
  std::vector<float> v;
  Map() = default;
  Map(int h_, int w_, int c_) : h(h_), w(w_), c(c_), v(static_cast<size_t>(h_) * w_ * c_) {}
  int pixels() const { return h * w; }
};

Map conv(const Map& x, const model::FpConv& c) {
  Map y(x.h, x.w, c.out);
  fp::conv3x3(x.v.data(), x.h, x.w, c, y.v.data());
  return y;
}

// z = x + ybin * g (binary) or z = x + conv3x3(x) + b (FP twin).
Map residual_conv(const Map& x, const model::ResConv& rc) {
  if (!rc.binary) {
    Map y = conv(x, rc.fp);
    for (size_t i = 0; i < y.v.size(); ++i) y.v[i] = x.v[i] + y.v[i];
    return y;
  }
  bconv::PackedMap a;
  bconv::pack_signs(x.v.data(), x.h, x.w, x.c, rc.shift.empty() ? nullptr : rc.shift.data(), a);
  std::vector<int32_t> ybin(x.v.size());
  bconv::bconv3x3_ref(a, rc.weight_bits.data(), x.c, x.c, ybin.data());
  const auto cfac = bconv::channel_factors(rc, x.v.data(), x.pixels(), x.c);
  Map z(x.h, x.w, x.c);
  bconv::apply_epilogue(rc, x.v.data(), ybin.data(), cfac, x.pixels(), x.c, z.v.data());
  return z;
}

void prelu(Map& x, const std::vector<float>& slope) {
  for (int p = 0; p < x.pixels(); ++p) {
    float* v = x.v.data() + static_cast<size_t>(p) * x.c;
    for (int ch = 0; ch < x.c; ++ch)
      if (v[ch] < 0.0f) v[ch] = slope[ch] * v[ch];
  }
}

// (h, w, c*r*r) -> (h*r, w*r, c): out[r*y+dy, r*x+dx, ch] = in[y, x, ch*r*r + dy*r + dx].
Map pixel_shuffle(const Map& x, int r) {
  const int c = x.c / (r * r);
  Map y(x.h * r, x.w * r, c);
  for (int yy = 0; yy < x.h; ++yy)
    for (int xx = 0; xx < x.w; ++xx) {
      const float* src = x.v.data() + (static_cast<size_t>(yy) * x.w + xx) * x.c;
      for (int dy = 0; dy < r; ++dy)
        for (int dx = 0; dx < r; ++dx) {
          float* dst = y.v.data() + (static_cast<size_t>(yy * r + dy) * y.w + (xx * r + dx)) * c;
          for (int ch = 0; ch < c; ++ch) dst[ch] = src[ch * r * r + dy * r + dx];
        }
    }
  return y;
}

}  // namespace

Image edsr_forward(const model::EdsrWeights& w, const Image& in) {
  Map x(in.height, in.width, 3);
  for (int p = 0; p < x.pixels(); ++p)
    for (int ch = 0; ch < 3; ++ch) x.v[p * 3 + ch] = in.rgb[p * 3 + ch] - w.rgb_mean[ch];
  const Map f0 = conv(x, w.head);
  Map f = f0;
  for (const auto& b : w.blocks) {
    Map t = residual_conv(f, b.conv1);
    prelu(t, b.act);
    f = residual_conv(t, b.conv2);
  }
  f = residual_conv(f, w.body_end);
  for (size_t i = 0; i < f.v.size(); ++i) f.v[i] += f0.v[i];
  for (size_t j = 0; j < w.up.size(); ++j) f = pixel_shuffle(conv(f, w.up[j]), w.up_factor[j]);
  const Map y = conv(f, w.tail);
  Image out;
  out.width = y.w;
  out.height = y.h;
  out.rgb.resize(y.v.size());
  for (int p = 0; p < y.pixels(); ++p)
    for (int ch = 0; ch < 3; ++ch) out.rgb[p * 3 + ch] = y.v[p * 3 + ch] + w.rgb_mean[ch];
  return out;
}

}  // namespace scales::net
