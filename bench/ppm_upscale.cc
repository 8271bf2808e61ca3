// scales-ppm-upscale: upscales binary PPM (P6, 8-bit) images with the engine alone, no libvips, so
// it builds where scales-upscale cannot: the arm64 cross build, whose FP convs' int8 and bf16 forms
// (NEON dot products, fp/conv3x3_neon.h) tests/client/test_fp_precision.py checks under qemu on
// real images. Not a product tool: scales-upscale is.
//
//   scales-ppm-upscale --model M.safetensors [--fp-precision model|fp32] [--threads N] IN.ppm OUT.ppm ...
//
// Outputs are rounded to 8 bits after clamping to [0, 1].
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "scales/engine.h"

namespace {

// The next header token of a PPM, skipping whitespace and # comments.
std::string token(std::istream& in) {
  std::string t;
  for (int c; (c = in.get()) != EOF;) {
    if (c == '#') {
      in.ignore(1 << 20, '\n');
    } else if (std::isspace(c)) {
      if (!t.empty()) return t;
    } else {
      t.push_back(static_cast<char>(c));
    }
  }
  return t;
}

scales::Image read_ppm(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  if (token(in) != "P6") throw std::runtime_error(path + ": not a binary PPM (P6)");
  scales::Image img;
  img.width = std::stoi(token(in));
  img.height = std::stoi(token(in));
  if (token(in) != "255") throw std::runtime_error(path + ": only 8-bit PPM (maxval 255) is read");
  if (img.width < 1 || img.height < 1 || img.width > 1 << 16 || img.height > 1 << 16)
    throw std::runtime_error(path + ": bad size");
  std::vector<uint8_t> bytes(static_cast<size_t>(img.width) * img.height * 3);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw std::runtime_error(path + ": truncated");
  img.rgb.resize(bytes.size());
  std::transform(bytes.begin(), bytes.end(), img.rgb.begin(), [](uint8_t v) { return v / 255.f; });
  return img;
}

void write_ppm(const std::string& path, const scales::Image& img) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << img.width << " " << img.height << "\n255\n";
  std::vector<uint8_t> bytes(img.rgb.size());
  std::transform(img.rgb.begin(), img.rgb.end(), bytes.begin(),
                 [](float v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.f, 1.f) * 255.f)); });
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(path + ": cannot write");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Upscale 8-bit binary PPM images with the engine (no libvips)."};
  std::string model_path, fp_precision = "model";
  int threads = 2;
  std::vector<std::string> files;
  app.add_option("--model", model_path, "model file")->required();
  app.add_option("--fp-precision", fp_precision, "model (the recorded FP precisions) or fp32");
  app.add_option("--threads", threads, "engine threads")->check(CLI::Range(1, 256));
  app.add_option("files", files, "IN.ppm OUT.ppm pairs")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    if (files.size() % 2) throw std::invalid_argument("files: expected IN.ppm OUT.ppm pairs");
    auto model = scales::Model::load(model_path);
    scales::EngineOptions o{threads, "", 0};
    o.fp_precision = fp_precision;
    scales::Engine engine(o);
    for (size_t i = 0; i < files.size(); i += 2) write_ppm(files[i + 1], engine.upscale(*model, read_ppm(files[i])));
  } catch (const std::exception& e) {
    std::cerr << "scales-ppm-upscale: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
