#include "model/safetensors.h"

#include <nlohmann/json.hpp>

#include "scales/engine.h"

namespace scales::model {

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // 100 MiB of JSON is far beyond any model

[[noreturn]] void fail(const std::string& what, const std::string& msg) { throw Error(what + ": " + msg); }

size_t dtype_size(DType d) { return d == DType::F32 ? 4 : 8; }

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafeTensors parse_safetensors(std::span<const uint8_t> buf, const std::string& what) {
  if (buf.size() < 8) fail(what, "file too short for a safetensors header (" + std::to_string(buf.size()) + " bytes)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | buf[i];
  if (n > kMaxHeader || n > buf.size() - 8)
    fail(what, "header length " + std::to_string(n) + " exceeds the file (" + std::to_string(buf.size()) + " bytes)");
  auto header = nlohmann::json::parse(buf.begin() + 8, buf.begin() + 8 + static_cast<std::ptrdiff_t>(n), nullptr,
                                      /*allow_exceptions=*/false);
  if (header.is_discarded()) fail(what, "header is not valid JSON");
  if (!header.is_object()) fail(what, "header is not a JSON object");
  const auto data = buf.subspan(8 + n);

  SafeTensors out;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) fail(what, "__metadata__ is not an object");
      for (auto& [k, v] : info.items()) {
        if (!v.is_string()) fail(what, "metadata value of '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string t = "tensor " + name;
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      fail(what, t + ": entry needs dtype, shape and data_offsets");
    const auto& jd = info["dtype"];
    if (!jd.is_string()) fail(what, t + ": dtype is not a string");
    DType dt;
    if (jd == "F32")
      dt = DType::F32;
    else if (jd == "U64")
      dt = DType::U64;
    else
      fail(what, t + ": unsupported dtype " + jd.get<std::string>() + " (engine reads F32 and U64)");
    const auto& js = info["shape"];
    if (!js.is_array() || js.size() > 8) fail(what, t + ": shape must be an array of at most 8 dimensions");
    TensorView v{dt, {}, {}};
    uint64_t count = 1;
    for (auto& d : js) {
      if (!d.is_number_unsigned()) fail(what, t + ": shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      if (dim > (1ull << 32) || (dim && count > (1ull << 40) / dim)) fail(what, t + ": shape too large");
      count *= dim;
      v.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& jo = info["data_offsets"];
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      fail(what, t + ": data_offsets must be two non-negative integers");
    const uint64_t b = jo[0].get<uint64_t>(), e = jo[1].get<uint64_t>();
    if (b > e || e > data.size() || e - b != count * dtype_size(dt))
      fail(what, t + ": offsets " + std::to_string(b) + ".." + std::to_string(e) + " do not fit its shape within " +
                     std::to_string(data.size()) + " data bytes");
    v.bytes = data.subspan(b, e - b);
    out.tensors.emplace(name, std::move(v));
  }
  return out;
}

}  // namespace scales::model
