// scales-latency: the engine's end-to-end latency for EDSR networks of several sizes, binary
// (SCALES) and FP, at each scale and input size: the speed axis of docs/quality-speed.md.
//
// Latency depends on a network's shape, not on its weights, so each network is built with random
// weights of its shape (model/synthetic.h), or read from a model file with --model. Within one
// repeat every (network, scale, input) is timed once, in order, so drifting machine speed touches
// them alike; each figure is the median over --repeats after one warm-up.
//
// With --onnx-dir, every FP network is also timed in ONNX Runtime (ort_runner.h), right after the
// engine on the same input in the same repeat, from DIR/fp-x<S>-b<B>c<C>.onnx as
// `scales_train.onnx_export --front-dir DIR` writes them: what a user of FP models would run.
// Then each (network, input) pair is timed on its own (its warm-up and every repeat before the
// next pair) instead of interleaved: an ONNX Runtime session keeps its memory arena at the peak
// of its largest input, and three x4 FP sessions that had each run a 1280x720 input held more
// than this 24 GiB machine has (the worker was killed); the worker keeps one session loaded. And
// an engine run right after ONNX Runtime's 1280x720 one was slowed by it: FP B3 C16 x4 at
// 256x256 took 76-101 ms so, against 56-66 ms with no ONNX Runtime run of another input before.
//
//   scales-latency --nets scales:4x32,scales:8x64,fp:4x32 --scales 2,4 \
//       --inputs 256x256,1280x720 --threads 2 --repeats 5 [--kernel avx2] [--onnx-dir DIR] [--json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "model/synthetic.h"
#include "net/edsr.h"
#include "ort_runner.h"
#include "scales/engine.h"
#include "timing.h"

using nlohmann::json;
using scales::bench::cpu_model;
using scales::bench::median;
using scales::bench::now_ms;

namespace {

struct Net {
  std::string label;  // "scales:4x32", or the model file's path
  int scale = 0;
  std::shared_ptr<const scales::Model> model;
  std::string onnx;  // the same shape as an ONNX file, for FP networks under --onnx-dir
};

struct Input {
  int width = 0, height = 0;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

// "scales:8x64" / "fp:4x32" (any variant the model format knows: scales, fp, plain) at `scale`.
// up_precision: what the upsampler convs record (--up-precision), as a model file's fp_precision.
Net synthetic_net(const std::string& text, int scale, scales::fp::Precision up_precision) {
  const auto parts = split(text, ':');
  const auto size = parts.size() == 2 ? split(parts[1], 'x') : std::vector<std::string>{};
  if (size.size() != 2) throw std::invalid_argument("--nets: expected VARIANT:BLOCKSxCHANNELS, got '" + text + "'");
  scales::model::SyntheticSpec spec;
  spec.scale = scale;
  spec.up_precision = up_precision;
  spec.blocks = std::stoi(size[0]);
  spec.channels = std::stoi(size[1]);
  if (parts[0] == "fp") {
    spec.binary = false;
    spec.components.clear();
  } else if (parts[0] == "plain") {
    spec.components.clear();
  } else if (parts[0] != "scales") {
    throw std::invalid_argument("--nets: unknown variant '" + parts[0] + "' (scales, plain or fp)");
  }
  return {text, scale,
          std::make_shared<const scales::Model>(scales::net::make_edsr(scales::model::synthetic_edsr(spec)))};
}

scales::Image random_image(const Input& in, uint32_t seed) {
  scales::Image img;
  img.width = in.width;
  img.height = in.height;
  img.rgb.resize(static_cast<size_t>(in.width) * in.height * 3);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  for (auto& v : img.rgb) v = ud(rng);
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"End-to-end engine latency of EDSR networks (the speed axis of the quality-speed front)."};
  std::string nets_text = "scales:4x32", inputs_text = "256x256,1280x720", kernel, onnx_dir, up_precision_text = "fp32",
              ort_worker = "bench/ort/worker.mjs";
  std::vector<std::string> model_files;
  std::vector<int> scales_list = {2, 4};
  int threads = 2, repeats = 5;
  bool as_json = false;
  app.add_option("--nets", nets_text, "comma list of VARIANT:BLOCKSxCHANNELS (random weights of that shape)");
  app.add_option("--model", model_files, "model files to time as well (at their own scale)");
  app.add_option("--scales", scales_list, "scales of the --nets networks")
      ->delimiter(',')
      ->check(CLI::IsMember({2, 3, 4}));
  app.add_option("--inputs", inputs_text, "comma list of WIDTHxHEIGHT LR inputs");
  app.add_option("--threads", threads, "engine threads")->check(CLI::Range(1, 256));
  app.add_option("--repeats", repeats, "timed runs per figure (median)")->check(CLI::PositiveNumber);
  app.add_option("--up-precision", up_precision_text,
                 "what the --nets networks' upsampler convs record: fp32, bf16 or int8 (run so where this CPU can)");
  app.add_option("--kernel", kernel, "binary kernel variant (default: best for this CPU)");
  app.add_option("--onnx-dir", onnx_dir, "time the FP networks in ONNX Runtime too, from DIR/fp-x<S>-b<B>c<C>.onnx");
  app.add_option("--ort-worker", ort_worker, "the ONNX Runtime worker script");
  app.add_flag("--json", as_json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  try {
    std::vector<Input> inputs;
    for (const auto& t : split(inputs_text, ',')) {
      const auto wh = split(t, 'x');
      if (wh.size() != 2) throw std::invalid_argument("--inputs: expected WIDTHxHEIGHT, got '" + t + "'");
      inputs.push_back({std::stoi(wh[0]), std::stoi(wh[1])});
      if (inputs.back().width < 1 || inputs.back().height < 1) throw std::invalid_argument("--inputs: empty size");
    }
    scales::fp::Precision up_precision;
    if (!scales::fp::parse_precision(up_precision_text, up_precision))
      throw std::invalid_argument("--up-precision: expected fp32, bf16 or int8, got '" + up_precision_text + "'");
    std::vector<Net> nets;
    for (int s : scales_list)
      for (const auto& t : split(nets_text, ',')) {
        nets.push_back(synthetic_net(t, s, up_precision));
        if (!onnx_dir.empty() && t.rfind("fp:", 0) == 0) {
          const auto bc = split(t.substr(3), 'x');
          nets.back().onnx = scales::bench::fp_edsr_onnx(onnx_dir, s, std::stoi(bc[0]), std::stoi(bc[1]));
        }
      }
    for (const auto& f : model_files) {
      auto m = scales::Model::load(f);
      nets.push_back({f, m->info().scale, m});
    }
    scales::Engine engine(scales::EngineOptions{threads, kernel, 0});
    // Model files may record int8/bf16 FP layers: they are also timed all-fp32 (engine_fp32_ms).
    scales::EngineOptions o32{threads, kernel, 0};
    o32.fp_precision = "fp32";
    scales::Engine engine32(o32);
    auto is_file = [&](size_t n) { return n >= nets.size() - model_files.size(); };
    std::vector<scales::Image> images;
    for (size_t i = 0; i < inputs.size(); ++i) images.push_back(random_image(inputs[i], static_cast<uint32_t>(i + 1)));

    std::unique_ptr<scales::bench::OrtRunner> ort;
    if (!onnx_dir.empty()) ort = std::make_unique<scales::bench::OrtRunner>(ort_worker);
    std::vector<std::vector<double>> times(nets.size() * inputs.size()), ort_times(times.size()),
        fp32_times(times.size());
    // One pass: warm-up (r = -1), then the repeats, over the networks [first, last) and the
    // inputs [in0, in1).
    auto pass = [&](size_t first, size_t last, size_t in0, size_t in1) {
      for (int r = -1; r < repeats; ++r)
        for (size_t n = first; n < last; ++n)
          for (size_t i = in0; i < in1; ++i) {
            if (r < 0) {
              engine.upscale(*nets[n].model, images[i]);
              if (is_file(n)) engine32.upscale(*nets[n].model, images[i]);
              if (!nets[n].onnx.empty()) ort->time_ms(nets[n].onnx, inputs[i].width, inputs[i].height, threads);
              continue;
            }
            const double t0 = now_ms();
            engine.upscale(*nets[n].model, images[i]);
            times[n * inputs.size() + i].push_back(now_ms() - t0);
            if (is_file(n)) {
              const double t1 = now_ms();
              engine32.upscale(*nets[n].model, images[i]);
              fp32_times[n * inputs.size() + i].push_back(now_ms() - t1);
            }
            if (!nets[n].onnx.empty())
              ort_times[n * inputs.size() + i].push_back(
                  ort->time_ms(nets[n].onnx, inputs[i].width, inputs[i].height, threads));
          }
    };
    if (ort) {
      for (size_t n = 0; n < nets.size(); ++n)
        for (size_t i = 0; i < inputs.size(); ++i) pass(n, n + 1, i, i + 1);
    } else {
      pass(0, nets.size(), 0, inputs.size());
    }

    json out;
    out["machine"] = {{"cpu", cpu_model()},
                      {"hardware_threads", std::thread::hardware_concurrency()},
                      {"ort_module", scales::bench::ort_module()}};
    out["threads"] = threads;
    out["repeats"] = repeats;
    out["kernel"] = engine.kernel();
    out["rows"] = json::array();
    for (size_t n = 0; n < nets.size(); ++n)
      for (size_t i = 0; i < inputs.size(); ++i) {
        json row = {{"net", nets[n].label},
                    {"scale", nets[n].scale},
                    {"input", std::to_string(inputs[i].width) + "x" + std::to_string(inputs[i].height)},
                    {"engine_ms", median(times[n * inputs.size() + i])}};
        if (!nets[n].onnx.empty()) row["ort_ms"] = median(ort_times[n * inputs.size() + i]);
        if (is_file(n)) {
          row["engine_fp32_ms"] = median(fp32_times[n * inputs.size() + i]);
          row["fp_precision"] = nets[n].model->info().fp_precision;
        }
        out["rows"].push_back(row);
      }
    std::cout << (as_json ? out.dump() : out.dump(2)) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
