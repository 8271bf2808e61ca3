// Model loading: a released model loads; every malformed, truncated or inconsistent variant of it
// is rejected with an Error naming the problem (never a crash or an out-of-bounds read).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>

#include "scales/engine.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The smallest released EDSR (the cases below name its tensors: head, tail, ...).
std::vector<uint8_t> released_model_bytes() {
  const fs::path dir = fs::path(SCALES_SOURCE_DIR) / "models" / "weights";
  fs::path best;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors" && e.path().filename().string().starts_with("scales-edsr-") &&
        (best.empty() || fs::file_size(e.path()) < fs::file_size(best)))
      best = e.path();
  std::ifstream f(best, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct Split {
  json header;
  std::vector<uint8_t> data;
};

Split split(const std::vector<uint8_t>& b) {
  uint64_t n = 0;
  std::memcpy(&n, b.data(), 8);
  return {json::parse(b.begin() + 8, b.begin() + 8 + n), {b.begin() + 8 + n, b.end()}};
}

std::vector<uint8_t> join(const json& header, const std::vector<uint8_t>& data) {
  const std::string h = header.dump();
  std::vector<uint8_t> out(8);
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> mutate(std::function<void(Split&)> f) {
  auto s = split(released_model_bytes());
  f(s);
  return join(s.header, s.data);
}

void expect_rejected(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    scales::Model::load_from_memory(bytes, "model");
    FAIL() << "accepted a bad model (expected an error mentioning '" << needle << "')";
  } catch (const scales::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Loader, ReleasedModelLoads) {
  const auto m = scales::Model::load_from_memory(released_model_bytes());
  EXPECT_EQ(m->info().architecture, "scales-edsr");
  EXPECT_GT(m->info().channels, 0);
}

TEST(Loader, MissingFile) { EXPECT_THROW(scales::Model::load("/nonexistent/model.safetensors"), scales::Error); }

TEST(Loader, TruncatedFiles) {
  const auto good = released_model_bytes();
  expect_rejected({good.begin(), good.begin() + 5}, "too short");
  expect_rejected({good.begin(), good.begin() + 100}, "header length");
  expect_rejected({good.begin(), good.end() - 8}, "offsets");
  // Every prefix is rejected cleanly (this also runs under the sanitizers).
  for (size_t n = 0; n < good.size(); n += 997)
    EXPECT_THROW(scales::Model::load_from_memory({good.begin(), good.begin() + n}), scales::Error);
}

TEST(Loader, BadHeaders) {
  auto huge = released_model_bytes();
  const uint64_t n = ~uint64_t{0} - 4;
  std::memcpy(huge.data(), &n, 8);
  expect_rejected(huge, "header length");
  auto garbage = released_model_bytes();
  garbage[8] = '[';
  garbage[9] = '}';
  expect_rejected(garbage, "JSON");
  expect_rejected(mutate([](Split& s) { s.header = json::array(); }), "not a JSON object");
}

TEST(Loader, BadTensorEntries) {
  expect_rejected(mutate([](Split& s) { s.header["head.bias"]["dtype"] = "BF16"; }), "unsupported dtype");
  expect_rejected(mutate([](Split& s) { s.header["head.bias"]["dtype"] = "U64"; }), "head.bias");
  expect_rejected(mutate([](Split& s) { s.header["head.bias"]["shape"] = {1, 2}; }), "head.bias");
  expect_rejected(mutate([](Split& s) { s.header["head.bias"]["shape"] = {-1}; }), "head.bias");
  expect_rejected(mutate([](Split& s) { s.header["head.bias"]["data_offsets"] = {0, 1ull << 40}; }), "offsets");
  expect_rejected(mutate([](Split& s) { s.header["head.bias"]["data_offsets"] = {8, 4}; }), "offsets");
  expect_rejected(mutate([](Split& s) { s.header.erase("tail.bias"); }), "tail.bias");
  expect_rejected(mutate([](Split& s) { s.header["extra"] = s.header["tail.bias"]; }), "unexpected tensor extra");
}

TEST(Loader, BadMetadata) {
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["format_version"] = "2"; }), "format_version");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["format"] = "other"; }), "not a SCALES-SR");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["architecture"] = "scales-vit"; }),
                  "unsupported architecture 'scales-vit'");
  // An EDSR file labelled SwinIR goes to the SwinIR reader, which finds its metadata missing.
  expect_rejected(mutate([](Split& s) {
                    s.header["__metadata__"]["architecture"] = "scales-swinir";
                    s.header["__metadata__"]["image_pad"] = "reflect-bottom-right";
                  }),
                  "metadata 'groups' is missing");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["scale"] = "8"; }), "scale");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["channels"] = "x"; }), "channels");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["blocks"] = "99"; }), "missing");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["components"] = "shift,magic"; }), "magic");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"]["pad_value"] = "0"; }), "pad_value");
  expect_rejected(mutate([](Split& s) { s.header["__metadata__"].erase("scale"); }), "scale");
}

TEST(Loader, BadPrecisionMetadata) {
  auto set = [](const std::string& v) {
    return mutate([v](Split& s) { s.header["__metadata__"]["fp_precision"] = v; });
  };
  expect_rejected(set("tail=int4"), "is not LAYER=fp32|bf16|int8");
  expect_rejected(set("tail"), "is not LAYER=fp32|bf16|int8");
  expect_rejected(set("nope=int8"), "names 'nope', not an FP conv");
  expect_rejected(set("tail=int8,tail=bf16"), "twice");
  // int8 needs the calibrated input ranges.
  expect_rejected(mutate([](Split& s) {
                    s.header["__metadata__"]["fp_precision"] = "tail=int8";
                    s.header.erase("tail.input_absmax");
                  }),
                  "tail.input_absmax is missing");
  expect_rejected(mutate([](Split& s) {
                    s.header["__metadata__"]["fp_precision"] = "tail=int8";
                    s.header["tail.input_absmax"] = s.header["tail.bias"];
                  }),
                  "tail.input_absmax");
  EXPECT_NO_THROW(scales::Model::load_from_memory(set("tail=fp32"), "model"));
}

TEST(Loader, PadBitsMustBeClear) {
  // The released models have C = 32 (not a multiple of 64): setting bit 63 of a weight word
  // marks a channel that does not exist.
  expect_rejected(mutate([](Split& s) {
                    const auto& e = s.header["body_end.weight_bits"];
                    const uint64_t off = e["data_offsets"][0];
                    s.data[off + 7] |= 0x80;
                  }),
                  "past channel");
}

TEST(Upscale, RejectsEmptyAndInconsistentImages) {
  const auto m = scales::Model::load_from_memory(released_model_bytes());
  EXPECT_THROW(scales::upscale(*m, scales::Image{}), scales::Error);
  scales::Image bad{4, 4, std::vector<float>(10)};
  EXPECT_THROW(scales::upscale(*m, bad), scales::Error);
}

}  // namespace
