#include "model/model_file.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "model/reader.h"
#include "model/safetensors.h"

namespace scales::model {

using namespace detail;

EdsrWeights read_model_file(std::span<const uint8_t> bytes, const std::string& what) {
  const SafeTensors st = parse_safetensors(bytes, what);
  auto meta = [&](const std::string& k) { return meta_str(st, k); };
  check_common_metadata(st, what);
  if (meta("architecture") != "scales-edsr") fail(what, "unsupported architecture '" + meta("architecture") + "'");

  EdsrWeights w;
  w.info.architecture = "scales-edsr";
  w.info.variant = meta("variant");
  w.info.fp_precision = meta("fp_precision");
  w.info.scale = meta_int(st, "scale", what, 2, 4);
  w.info.blocks = meta_int(st, "blocks", what, 0, 1024);
  w.info.channels = meta_int(st, "channels", what, 1, 4096);
  w.info.binary = binary_flag(st, what);
  const std::set<std::string> comps = components(st, what);
  const int c = w.info.channels;
  const int hidden = std::max(4, c / 8);
  if (comps.count("channel") && meta_int(st, "channel_hidden", what, 1, 1 << 16) != hidden)
    fail(what, "metadata channel_hidden does not match max(4, channels / 8) = " + std::to_string(hidden));
  w.words = (c + 63) / 64;

  Reader r(st, what);
  auto mean = r.f32("rgb_mean", {3});
  std::copy(mean.begin(), mean.end(), w.rgb_mean);
  w.head = fp_conv(r, "head", c, 3);
  for (int i = 0; i < w.info.blocks; ++i) {
    const std::string p = "body." + std::to_string(i);
    Block b;
    b.conv1 = res_conv(r, p + ".conv1", c, w.info.binary, comps, hidden, what);
    b.act = r.f32(p + ".act.weight", {c});
    b.conv2 = res_conv(r, p + ".conv2", c, w.info.binary, comps, hidden, what);
    w.blocks.push_back(std::move(b));
  }
  w.body_end = res_conv(r, "body_end", c, w.info.binary, comps, hidden, what);
  w.up_factor = w.info.scale == 4 ? std::vector<int>{2, 2} : std::vector<int>{w.info.scale};
  for (size_t j = 0; j < w.up_factor.size(); ++j) {
    const int f = w.up_factor[j];
    w.up.push_back(fp_conv(r, "up." + std::to_string(j), f * f * c, c));
  }
  w.tail = fp_conv(r, "tail", 3, c);
  r.check_all_used();
  // Costs per LR pixel: head, the residual convs (binary or FP), the upsampler stages, the tail.
  const double layers = 2.0 * w.info.blocks + 1, body = layers * c * c * 9;
  double fp = 3.0 * c * 9, fp_params = 3.0 * c * 9 + c, res2 = 1;
  for (int f : w.up_factor) {
    fp += res2 * c * f * f * c * 9;
    fp_params += 1.0 * c * f * f * c * 9 + f * f * c;
    res2 *= f * f;
  }
  fp += res2 * c * 3 * 9;
  fp_params += c * 3.0 * 9 + 3;
  if (w.info.binary) {
    w.info.binary_params = static_cast<int64_t>(body);
    w.info.binary_macs_per_pixel = body;
  } else {
    fp += body;
    fp_params += body + layers * c;
  }
  w.info.fp_params = static_cast<int64_t>(fp_params);
  w.info.fp_macs_per_pixel = fp;
  return w;
}

}  // namespace scales::model
