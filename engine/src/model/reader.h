// Reading model-file tensors with their checks (dtype, shape, every tensor used, pad bits), shared
// by the architectures' readers (model_file.cc: EDSR, swinir_file.cc: SwinIR).
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/model_file.h"
#include "model/safetensors.h"

namespace scales::model::detail {

[[noreturn]] inline void fail(const std::string& what, const std::string& msg) { throw Error(what + ": " + msg); }

class Reader {
 public:
  Reader(const SafeTensors& st, std::string what) : st_(st), what_(std::move(what)) { parse_precisions(); }

  // The precision metadata `fp_precision` records for FP conv `layer` ("layer=prec,..."; a layer
  // not named is fp32).
  fp::Precision precision(const std::string& layer) {
    auto it = precisions_.find(layer);
    if (it == precisions_.end()) return fp::Precision::fp32;
    precision_used_.insert(layer);
    return it->second;
  }

  [[noreturn]] void fail_tensor(const std::string& name, const std::string& msg) const {
    fail(what_, "tensor " + name + " " + msg);
  }

  bool has(const std::string& name) const { return st_.tensors.count(name) != 0; }

  const TensorView& get(const std::string& name, DType dt, std::vector<int64_t> shape) {
    auto it = st_.tensors.find(name);
    if (it == st_.tensors.end()) fail(what_, "tensor " + name + " is missing");
    const auto& v = it->second;
    if (v.dtype != dt)
      fail(what_, "tensor " + name + " has the wrong dtype (expected " + (dt == DType::F32 ? "F32" : "U64") + ")");
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
    for (auto& [layer, _] : precisions_)
      if (!precision_used_.count(layer)) fail(what_, "metadata fp_precision names '" + layer + "', not an FP conv");
  }

 private:
  void parse_precisions() {
    auto it = st_.metadata.find("fp_precision");
    if (it == st_.metadata.end() || it->second.empty()) return;
    size_t at = 0;
    const std::string& v = it->second;
    while (at <= v.size()) {
      const size_t end = std::min(v.find(',', at), v.size());
      const std::string item = v.substr(at, end - at);
      const size_t eq = item.find('=');
      fp::Precision prec;
      if (eq == std::string::npos || eq == 0 || !fp::parse_precision(item.substr(eq + 1), prec))
        fail(what_, "metadata fp_precision item '" + item + "' is not LAYER=fp32|bf16|int8");
      if (!precisions_.emplace(item.substr(0, eq), prec).second)
        fail(what_, "metadata fp_precision names '" + item.substr(0, eq) + "' twice");
      at = end + 1;
    }
  }

  const SafeTensors& st_;
  std::string what_;
  std::set<std::string> used_;
  std::map<std::string, fp::Precision> precisions_;
  std::set<std::string> precision_used_;
};

inline int meta_int(const SafeTensors& st, const std::string& key, const std::string& what, int lo, int hi) {
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

inline FpConv fp_conv(Reader& r, const std::string& p, int out, int in) {
  FpConv c;
  c.out = out;
  c.in = in;
  c.weight = r.f32(p + ".weight", {out, in, 3, 3});
  c.bias = r.f32(p + ".bias", {out});
  c.precision = r.precision(p);
  // The int8 calibration may be present on a layer the gate kept in bf16 or fp32.
  if (c.precision == fp::Precision::int8 || r.has(p + ".input_absmax")) {
    c.input_absmax = r.f32(p + ".input_absmax", {in});
    for (float a : c.input_absmax)
      if (!(a >= 0 && a < 1e30f)) r.fail_tensor(p + ".input_absmax", "holds a value that is not a finite range >= 0");
  }
  return c;
}

// The SCALES factors of binary layer P with `in` inputs and `out` outputs into dst (a ResConv or a
// Linear: the same field names), each only when its component is on.
template <class Layer>
void read_scales(Reader& r, const std::string& p, int in, int out, const std::set<std::string>& comps, int hidden,
                 Layer& dst) {
  dst.weight_scale = r.f32(p + ".weight_scale", {out});
  if (comps.count("shift")) dst.shift = r.f32(p + ".shift", {in});
  if (comps.count("layer_scale")) {
    dst.alpha = r.f32(p + ".alpha", {1})[0];
    dst.has_alpha = true;
  }
  if (comps.count("spatial")) {
    dst.spatial_w = r.f32(p + ".spatial.weight", {1, in});
    dst.spatial_b = r.f32(p + ".spatial.bias", {1})[0];
  }
  if (comps.count("channel")) {
    dst.hidden = hidden;
    dst.fc1_w = r.f32(p + ".channel.fc1.weight", {hidden, in});
    dst.fc1_b = r.f32(p + ".channel.fc1.bias", {hidden});
    dst.fc2_w = r.f32(p + ".channel.fc2.weight", {out, hidden});
    dst.fc2_b = r.f32(p + ".channel.fc2.bias", {out});
  }
}

// Pad bits past the last input channel must be 0 (the kernels' K - 2*popcount relies on it).
inline void check_pad_bits(const std::vector<uint64_t>& bits, int in, const std::string& p, const std::string& what) {
  const int words = (in + 63) / 64;
  if (in % 64 == 0) return;
  const uint64_t pad_mask = ~((uint64_t{1} << (in % 64)) - 1);
  for (size_t i = words - 1; i < bits.size(); i += words)
    if (bits[i] & pad_mask) fail(what, p + ".weight_bits has bits set past channel " + std::to_string(in));
}

inline ResConv res_conv(Reader& r, const std::string& p, int c, bool binary, const std::set<std::string>& comps,
                        int hidden, const std::string& what) {
  ResConv rc;
  rc.binary = binary;
  if (!rc.binary) {
    rc.fp = fp_conv(r, p, c, c);
    return rc;
  }
  rc.weight_bits = r.u64(p + ".weight_bits", {c, 3, 3, (c + 63) / 64});
  read_scales(r, p, c, c, comps, hidden, rc);
  check_pad_bits(rc.weight_bits, c, p, what);
  return rc;
}

inline std::string meta_str(const SafeTensors& st, const std::string& k) {
  auto it = st.metadata.find(k);
  return it == st.metadata.end() ? std::string() : it->second;
}

// The checks every model file passes before its architecture is looked at.
inline void check_common_metadata(const SafeTensors& st, const std::string& what) {
  if (meta_str(st, "format") != "scales-sr")
    fail(what, "not a SCALES-SR model file (metadata format='" + meta_str(st, "format") + "')");
  if (meta_str(st, "format_version") != "1")
    fail(what, "unsupported format_version '" + meta_str(st, "format_version") + "' (this engine reads 1)");
  if (meta_str(st, "pad_value") != "+1")
    fail(what, "unsupported pad_value '" + meta_str(st, "pad_value") + "' (expected +1)");
  if (meta_str(st, "bit_order") != "lsb0")
    fail(what, "unsupported bit_order '" + meta_str(st, "bit_order") + "' (expected lsb0)");
}

inline std::set<std::string> components(const SafeTensors& st, const std::string& what) {
  std::set<std::string> comps;
  const std::string cl = meta_str(st, "components");
  for (size_t b = 0; b < cl.size();) {
    size_t e = cl.find(',', b);
    if (e == std::string::npos) e = cl.size();
    std::string c = cl.substr(b, e - b);
    if (c != "shift" && c != "layer_scale" && c != "spatial" && c != "channel")
      fail(what, "unknown SCALES component '" + c + "' in metadata");
    comps.insert(c);
    b = e + 1;
  }
  return comps;
}

inline bool binary_flag(const SafeTensors& st, const std::string& what) {
  const std::string bin = meta_str(st, "binary");
  if (bin != "0" && bin != "1") fail(what, "metadata 'binary' must be 0 or 1, not '" + bin + "'");
  return bin == "1";
}

}  // namespace scales::model::detail
