#include "model/model_file.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "model/safetensors.h"

namespace scales::model {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& msg) { throw Error(what + ": " + msg); }

class Reader {
 public:
  Reader(const SafeTensors& st, std::string what) : st_(st), what_(std::move(what)) {}

  bool has(const std::string& name) const { return st_.tensors.count(name) != 0; }

  const TensorView& get(const std::string& name, DType dt, std::vector<int64_t> shape) {
    auto it = st_.tensors.find(name);
    if (it == st_.tensors.end()) fail(what_, "tensor " + name + " is missing");
    const auto& v = it->second;
    if (v.dtype != dt) fail(what_, "tensor " + name + " has the wrong dtype (expected " + (dt == DType::F32 ? "F32" : "U64") + ")");
    if (v.shape != shape) {
      std::string want, got;
      for (auto d : shape) want += std::to_string(d) + ",";
      for (auto d : v.shape) got += std::to_string(d) + ",";
      fail(what_, "tensor " + name + " has shape (" + got + ") , expected (" + want + ")");
    }
    used_.insert(name);
    return v;
  }

  std::vector<float> f32(const std::string& name, std::vector<int64_t> shape) {
    const auto& v = get(name, DType::F32, std::move(shape));
    std::vector<float> out(static_cast<size_t>(v.numel()));
    std::memcpy(out.data(), v.bytes.data(), v.bytes.size());  // little-endian host
    return out;
  }

  std::vector<uint64_t> u64(const std::string& name, std::vector<int64_t> shape) {
    const auto& v = get(name, DType::U64, std::move(shape));
    std::vector<uint64_t> out(static_cast<size_t>(v.numel()));
    std::memcpy(out.data(), v.bytes.data(), v.bytes.size());
    return out;
  }

  void check_all_used() const {
    for (auto& [name, _] : st_.tensors)
      if (!used_.count(name)) fail(what_, "unexpected tensor " + name + " for this model's metadata");
  }

 private:
  const SafeTensors& st_;
  std::string what_;
  std::set<std::string> used_;
};

int meta_int(const SafeTensors& st, const std::string& key, const std::string& what, int lo, int hi) {
  auto it = st.metadata.find(key);
  if (it == st.metadata.end()) fail(what, "metadata '" + key + "' is missing");
  try {
    size_t pos = 0;
    long v = std::stol(it->second, &pos);
    if (pos != it->second.size() || v < lo || v > hi) throw std::out_of_range("");
    return static_cast<int>(v);
  } catch (const std::exception&) {
    fail(what, "metadata '" + key + "' = '" + it->second + "' is not an integer in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
  }
}

FpConv fp_conv(Reader& r, const std::string& p, int out, int in) {
  FpConv c;
  c.out = out;
  c.in = in;
  c.weight = r.f32(p + ".weight", {out, in, 3, 3});
  c.bias = r.f32(p + ".bias", {out});
  return c;
}

ResConv res_conv(Reader& r, const std::string& p, const EdsrWeights& w, const std::set<std::string>& comps,
                 int hidden, const std::string& what) {
  const int c = w.info.channels;
  ResConv rc;
  rc.binary = w.info.binary;
  if (!rc.binary) {
    rc.fp = fp_conv(r, p, c, c);
    return rc;
  }
  rc.weight_bits = r.u64(p + ".weight_bits", {c, 3, 3, w.words});
  rc.weight_scale = r.f32(p + ".weight_scale", {c});
  if (comps.count("shift")) rc.shift = r.f32(p + ".shift", {c});
  if (comps.count("layer_scale")) {
    rc.alpha = r.f32(p + ".alpha", {1})[0];
    rc.has_alpha = true;
  }
  if (comps.count("spatial")) {
    rc.spatial_w = r.f32(p + ".spatial.weight", {1, c});
    rc.spatial_b = r.f32(p + ".spatial.bias", {1})[0];
  }
  if (comps.count("channel")) {
    rc.hidden = hidden;
    rc.fc1_w = r.f32(p + ".channel.fc1.weight", {hidden, c});
    rc.fc1_b = r.f32(p + ".channel.fc1.bias", {hidden});
    rc.fc2_w = r.f32(p + ".channel.fc2.weight", {c, hidden});
    rc.fc2_b = r.f32(p + ".channel.fc2.bias", {c});
  }
  // Pad bits past the last channel must be 0 (the kernel's K - 2*popcount relies on it).
  if (c % 64) {
    const uint64_t pad_mask = ~((uint64_t{1} << (c % 64)) - 1);
    for (size_t i = w.words - 1; i < rc.weight_bits.size(); i += w.words)
      if (rc.weight_bits[i] & pad_mask) fail(what, p + ".weight_bits has bits set past channel " + std::to_string(c));
  }
  return rc;
}

}  // namespace

EdsrWeights read_model_file(std::span<const uint8_t> bytes, const std::string& what) {
  const SafeTensors st = parse_safetensors(bytes, what);
  auto meta = [&](const std::string& k) {
    auto it = st.metadata.find(k);
    return it == st.metadata.end() ? std::string() : it->second;
  };
  if (meta("format") != "scales-sr") fail(what, "not a SCALES-SR model file (metadata format='" + meta("format") + "')");
  if (meta("format_version") != "1")
    fail(what, "unsupported format_version '" + meta("format_version") + "' (this engine reads 1)");
  if (meta("architecture") != "scales-edsr") fail(what, "unsupported architecture '" + meta("architecture") + "'");
  if (meta("pad_value") != "+1") fail(what, "unsupported pad_value '" + meta("pad_value") + "' (expected +1)");
  if (meta("bit_order") != "lsb0") fail(what, "unsupported bit_order '" + meta("bit_order") + "' (expected lsb0)");

  EdsrWeights w;
  w.info.architecture = "scales-edsr";
  w.info.variant = meta("variant");
  w.info.scale = meta_int(st, "scale", what, 2, 4);
  w.info.blocks = meta_int(st, "blocks", what, 0, 1024);
  w.info.channels = meta_int(st, "channels", what, 1, 4096);
  const std::string bin = meta("binary");
  if (bin != "0" && bin != "1") fail(what, "metadata 'binary' must be 0 or 1, not '" + bin + "'");
  w.info.binary = bin == "1";
  std::set<std::string> comps;
  const std::string cl = meta("components");
  for (size_t b = 0; b < cl.size();) {
    size_t e = cl.find(',', b);
    if (e == std::string::npos) e = cl.size();
    std::string c = cl.substr(b, e - b);
    if (c != "shift" && c != "layer_scale" && c != "spatial" && c != "channel")
      fail(what, "unknown SCALES component '" + c + "' in metadata");
    comps.insert(c);
    b = e + 1;
  }
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
    b.conv1 = res_conv(r, p + ".conv1", w, comps, hidden, what);
    b.act = r.f32(p + ".act.weight", {c});
    b.conv2 = res_conv(r, p + ".conv2", w, comps, hidden, what);
    w.blocks.push_back(std::move(b));
  }
  w.body_end = res_conv(r, "body_end", w, comps, hidden, what);
  w.up_factor = w.info.scale == 4 ? std::vector<int>{2, 2} : std::vector<int>{w.info.scale};
  for (size_t j = 0; j < w.up_factor.size(); ++j) {
    const int f = w.up_factor[j];
    w.up.push_back(fp_conv(r, "up." + std::to_string(j), f * f * c, c));
  }
  w.tail = fp_conv(r, "tail", 3, c);
  r.check_all_used();
  return w;
}

}  // namespace scales::model
