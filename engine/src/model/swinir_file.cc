#include "model/swinir_file.h"

#include "model/reader.h"
#include "model/safetensors.h"

namespace scales::model {

using namespace detail;

namespace {

Linear read_linear(Reader& r, const std::string& p, int in, int out, bool binary, const std::set<std::string>& comps,
                   const std::string& what) {
  Linear l;
  l.in = in;
  l.out = out;
  l.binary = binary;
  if (!binary) {
    l.weight = r.f32(p + ".weight", {out, in});
    l.bias = r.f32(p + ".bias", {out});
    return l;
  }
  l.weight_bits = r.u64(p + ".weight_bits", {out, (in + 63) / 64});
  read_scales(r, p, in, out, comps, std::max(4, in / 8), l);
  check_pad_bits(l.weight_bits, in, p, what);
  return l;
}

}  // namespace

std::string model_architecture(std::span<const uint8_t> bytes, const std::string& what) {
  const SafeTensors st = parse_safetensors(bytes, what);
  check_common_metadata(st, what);
  return meta_str(st, "architecture");
}

SwinirWeights read_swinir_file(std::span<const uint8_t> bytes, const std::string& what) {
  const SafeTensors st = parse_safetensors(bytes, what);
  check_common_metadata(st, what);
  if (meta_str(st, "architecture") != "scales-swinir")
    fail(what, "unsupported architecture '" + meta_str(st, "architecture") + "'");
  if (meta_str(st, "image_pad") != "reflect-bottom-right")
    fail(what, "unsupported image_pad '" + meta_str(st, "image_pad") + "' (expected reflect-bottom-right)");
  SwinirWeights w;
  w.info.architecture = "scales-swinir";
  w.info.variant = meta_str(st, "variant");
  w.info.fp_precision = meta_str(st, "fp_precision");
  w.info.scale = meta_int(st, "scale", what, 2, 4);
  w.info.channels = meta_int(st, "channels", what, 1, 4096);
  w.groups = meta_int(st, "groups", what, 1, 256);
  w.depth = meta_int(st, "depth", what, 1, 256);
  w.heads = meta_int(st, "heads", what, 1, 256);
  w.window = meta_int(st, "window", what, 2, 64);
  w.mlp_ratio = meta_int(st, "mlp_ratio", what, 1, 16);
  w.info.blocks = w.groups * w.depth;
  w.info.binary = binary_flag(st, what);
  const int c = w.info.channels;
  if (c % w.heads)
    fail(what, "channels " + std::to_string(c) + " is not a multiple of heads " + std::to_string(w.heads));
  if (w.window % 2) fail(what, "window " + std::to_string(w.window) + " must be even (shift = window / 2)");
  const std::set<std::string> comps = components(st, what);
  // Which binary linears carry the FP residual: all (matched; files without the key) or only the
  // C -> C ones (same_width).
  const std::string lres = meta_str(st, "linear_residual");
  if (!lres.empty() && lres != "matched" && lres != "same_width")
    fail(what, "unsupported linear_residual '" + lres + "' (expected matched or same_width)");
  const bool all_res = lres != "same_width";
  const int n = w.window * w.window, s = w.info.scale;

  Reader r(st, what);
  auto mean = r.f32("rgb_mean", {3});
  std::copy(mean.begin(), mean.end(), w.rgb_mean);
  w.conv_first = fp_conv(r, "conv_first", c, 3);
  w.embed_norm_w = r.f32("embed_norm.weight", {c});
  w.embed_norm_b = r.f32("embed_norm.bias", {c});
  for (int g = 0; g < w.groups; ++g) {
    SwinGroup grp;
    for (int l = 0; l < w.depth; ++l) {
      const std::string p = "groups." + std::to_string(g) + ".layers." + std::to_string(l);
      SwinLayer L;
      L.norm1_w = r.f32(p + ".norm1.weight", {c});
      L.norm1_b = r.f32(p + ".norm1.bias", {c});
      L.norm2_w = r.f32(p + ".norm2.weight", {c});
      L.norm2_b = r.f32(p + ".norm2.bias", {c});
      L.position_bias = r.f32(p + ".attn.position_bias", {w.heads, n, n});
      L.qkv = read_linear(r, p + ".qkv", c, 3 * c, w.info.binary, comps, what);
      L.proj = read_linear(r, p + ".proj", c, c, w.info.binary, comps, what);
      L.fc1 = read_linear(r, p + ".fc1", c, w.mlp_ratio * c, w.info.binary, comps, what);
      L.fc2 = read_linear(r, p + ".fc2", w.mlp_ratio * c, c, w.info.binary, comps, what);
      for (Linear* lin : {&L.qkv, &L.proj, &L.fc1, &L.fc2}) lin->residual = all_res || lin->in == lin->out;
      L.shift = l % 2 ? w.window / 2 : 0;
      grp.layers.push_back(std::move(L));
    }
    const std::string p = "groups." + std::to_string(g) + ".conv";
    grp.conv = res_conv(r, p, c, w.info.binary, comps, std::max(4, c / 8), what);
    w.body.push_back(std::move(grp));
  }
  w.norm_w = r.f32("norm.weight", {c});
  w.norm_b = r.f32("norm.bias", {c});
  w.conv_after_body = fp_conv(r, "conv_after_body", c, c);
  w.up = fp_conv(r, "up", 3 * s * s, c);
  r.check_all_used();
  // Costs per LR pixel (= per token): the four linears of every layer and the group convs
  // (binary, or FP in the twin), attention (QK^T and AV over a window: 2 * N * C), the FP convs.
  const double layers = 1.0 * w.groups * w.depth, m = w.mlp_ratio;
  const double lin = (3.0 + 1 + 2 * m) * c * c, conv = 9.0 * c * c;
  const double body = layers * lin + w.groups * conv;
  double fp = 27.0 * c + 9.0 * c * c + 9.0 * c * 3 * s * s + layers * 2.0 * n * c;
  double fp_params =
      27.0 * c + c + 9.0 * c * c + c + 9.0 * c * 3 * s * s + 3 * s * s + layers * (4.0 * c + w.heads * n * n) + 4.0 * c;
  if (w.info.binary) {
    w.info.binary_params = static_cast<int64_t>(body);
    w.info.binary_macs_per_pixel = body;
  } else {
    fp += body;
    fp_params += body;
  }
  w.info.fp_params = static_cast<int64_t>(fp_params);
  w.info.fp_macs_per_pixel = fp;
  return w;
}

}  // namespace scales::model
