// scales-bench: the engine's speed, measured against its own ceiling and against LibTorch.
//
//   kernel  one 64 -> 64 binary 3x3 conv on a 256x256 map (the kernel alone), beside the
//           XOR+popcount roofline of the same ISA on L1-resident data, same threads, same run
//   fp      one 64 -> 256 FP 3x3 conv (the x2 upsampler's) through the engine's oneDNN path and
//           through LibTorch: the FP rate that bounds the end-to-end speedup
//   e2e     paper-size SCALES-EDSR (random weights) at x2 and x4 on a 256x256 input, engine vs
//           the FP twin through LibTorch, same threads, timed alternately in the same run; with
//           --swinir-dir, paper-size SCALES-SwinIR (seeded random weights, its model file) vs its
//           FP twin's TorchScript through LibTorch, both from bench/make_swinir_bench.py; with
//           --onnx-dir, the EDSR FP twin also through ONNX Runtime (ort_runner.h), and each row
//           gives speedup_vs_torch, speedup_vs_ort and speedup_vs_best_fp (the faster FP engine)
//
// Every figure is the median of --repeats timed runs after one warm-up.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "bconv/pack.h"
#include "bconv/weights.h"
#include "fp/conv3x3.h"
#include "kernels/variant.h"
#include "model/synthetic.h"
#include "net/edsr.h"
#include "ort_runner.h"
#include "roofline.h"
#include "runtime/thread_pool.h"
#include "scales/engine.h"
#include "timing.h"
#include "torch_twin.h"

namespace sb = scales::bench;
using nlohmann::json;
using sb::cpu_model;
using sb::median;
using sb::now_ms;

namespace {

json bench_kernel(const scales::kernels::KernelVariant& k, scales::runtime::ThreadPool& pool, int repeats) {
  constexpr int kC = 64, kH = 256, kW = 256, kChunk = 4;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(kH) * kW * kC);
  for (auto& v : x) v = nd(rng);
  scales::bconv::PackedMap a;
  scales::bconv::pack_signs(x.data(), kH, kW, kC, nullptr, a);
  std::vector<uint64_t> bits(static_cast<size_t>(kC) * 9);
  for (auto& b : bits) b = (static_cast<uint64_t>(rng()) << 32) | rng();
  const auto w = scales::bconv::make_bconv_weights(bits, kC, kC);
  // Each thread writes its rows into one row buffer, as the engine's body does (its epilogue
  // consumes a row while it is in cache): a whole 16 MB output map would time DRAM writes too.
  auto run_kernel = [&] {
    pool.parallel_for(kH / kChunk, [&](int ch) {
      thread_local std::vector<int32_t> out;
      out.resize(static_cast<size_t>(kW) * kC);
      for (int y = ch * kChunk; y < (ch + 1) * kChunk; ++y) k.row(a, w, y, out.data());
    });
  };

  // Roofline: the same instructions on L1-resident words, split into many items so every thread
  // stays busy. Kernel and roofline runs alternate, so both see the same machine state.
  const auto xp = sb::xor_popcount_for(k.name);
  constexpr int kWords = 512;  // 4 KiB streamed per item: L1-resident
  constexpr long kReps = 24000;
  constexpr int kItems = 64;
  std::vector<std::vector<uint64_t>> bufs(pool.size() * 2, std::vector<uint64_t>(kWords));
  for (auto& b : bufs)
    for (auto& v : b) v = (static_cast<uint64_t>(rng()) << 32) | rng();
  std::vector<uint64_t> sink(kItems);
  auto run_roof = [&] {
    pool.parallel_for(kItems, [&](int i) {
      const int t = i % pool.size();
      sink[i] = xp(bufs[2 * t].data(), bufs[2 * t + 1].data(), kWords, kReps);
    });
  };
  // Each timed sample is kPasses convs (about 10-20 ms) and a roofline run of similar length, in
  // turn: samples of 1-3 ms let one scheduling hiccup of this shared VM decide a figure (one
  // run showed an efficiency of 1.05, another 0.39). Efficiency is the median of each pair's
  // ratio, kernel over the roofline measured right after it.
  constexpr int kPasses = 12;
  run_kernel();
  if (xp) run_roof();
  std::vector<double> tk, tr, ratio;
  const double conv_macs = double(kH) * kW * kC * kC * 9;
  const double roof_macs = double(kItems) * kReps * kWords * 64;
  for (int i = 0; i < repeats; ++i) {
    double t0 = now_ms();
    for (int k = 0; k < kPasses; ++k) run_kernel();
    tk.push_back((now_ms() - t0) / kPasses);
    if (!xp) continue;
    t0 = now_ms();
    run_roof();
    tr.push_back(now_ms() - t0);
    ratio.push_back((conv_macs / tk.back()) / (roof_macs / tr.back()));
  }
  const double ms = median(tk);
  const double gmacs = conv_macs / (ms * 1e6);
  const double roof = xp ? roof_macs / (median(tr) * 1e6) : 0.0;
  return {{"isa", k.name},  {"shape", "64->64 3x3 on 256x256"}, {"ms", ms},
          {"gmacs", gmacs}, {"roofline_gmacs", roof},           {"efficiency", xp ? median(ratio) : 0.0}};
}

// A random RGB image of side `size` (the e2e input).
scales::Image random_image(int size, uint32_t seed) {
  scales::Image img;
  img.width = img.height = size;
  img.rgb.resize(static_cast<size_t>(size) * size * 3);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  for (auto& v : img.rgb) v = ud(rng);
  return img;
}

// Median ms of the engine (one figure per model: the same network with its FP layers in different
// precisions), the LibTorch twin and (with an ONNX file) ONNX Runtime on `img`, timed in turn within
// each repeat so all see the same machine state, after the warm-ups (the twin's: `twin_warmups`).
struct E2eTimes {
  std::vector<double> engines;
  double torch = 0, ort = 0;  // ort: 0 without an ONNX file
};

template <typename Twin>
E2eTimes time_e2e(scales::Engine& engine, const std::vector<const scales::Model*>& models, const scales::Image& img,
                  Twin& twin, int twin_warmups, int repeats, sb::OrtRunner* ort, const std::string& onnx, int threads) {
  const bool with_ort = ort != nullptr && !onnx.empty();
  for (const auto* m : models) engine.upscale(*m, img);
  for (int i = 0; i < twin_warmups; ++i) twin.time_forward_ms(img.height, img.width);
  if (with_ort) ort->time_ms(onnx, img.width, img.height, threads);
  std::vector<std::vector<double>> te(models.size());
  std::vector<double> tt, to;
  for (int i = 0; i < repeats; ++i) {
    for (size_t k = 0; k < models.size(); ++k) {
      const double t0 = now_ms();
      engine.upscale(*models[k], img);
      te[k].push_back(now_ms() - t0);
    }
    tt.push_back(twin.time_forward_ms(img.height, img.width));
    if (with_ort) to.push_back(ort->time_ms(onnx, img.width, img.height, threads));
  }
  E2eTimes r{{}, median(tt), with_ort ? median(to) : 0.0};
  for (auto& v : te) r.engines.push_back(median(v));
  return r;
}

// The speedups of one e2e row: against LibTorch always, against ONNX Runtime and the faster of
// the two FP engines when it ran.
void add_speedups(json& row, const E2eTimes& t, double engine_ms) {
  row["engine_ms"] = engine_ms;
  row["torch_fp_ms"] = t.torch;
  row["speedup"] = t.torch / engine_ms;  // kept for older readers: the same as speedup_vs_torch
  row["speedup_vs_torch"] = t.torch / engine_ms;
  if (t.ort > 0) {
    row["ort_fp_ms"] = t.ort;
    row["speedup_vs_ort"] = t.ort / engine_ms;
    row["speedup_vs_best_fp"] = std::min(t.ort, t.torch) / engine_ms;
  }
}

// The e2e rows' FP-layer settings (--fp-layers): the upsampler's and the tail's precision.
struct FpLayers {
  std::string name;
  scales::fp::Precision up, tail;
};
const std::vector<FpLayers>& fp_layer_settings() {
  using P = scales::fp::Precision;
  static const std::vector<FpLayers> all = {{"fp32", P::fp32, P::fp32},
                                            {"int8", P::int8, P::int8},
                                            {"up-int8-tail-bf16", P::int8, P::bf16},
                                            {"bf16", P::bf16, P::bf16}};
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark the SCALES-SR engine against its roofline and LibTorch."};
  bool as_json = false;
  int threads = 0, repeats = 5, size = 256, blocks = 16, channels = 64;
  std::string kernel;
  std::vector<int> scales_list = {2, 4};
  std::string swinir_dir, onnx_dir, ort_worker = "bench/ort/worker.mjs";
  int swinir_size = 128;
  std::vector<std::string> fp_layers = {"fp32", "int8", "up-int8-tail-bf16"};
  bool kernel_only = false;
  app.add_flag("--json", as_json, "print one JSON object");
  app.add_flag("--kernel-only", kernel_only, "only the binary kernels against their rooflines (no FP or e2e rows)");
  app.add_option("--threads", threads, "threads for the engine and LibTorch (0 = all cores)");
  app.add_option("--kernel", kernel, "binary kernel variant (default: best for this CPU)");
  app.add_option("--repeats", repeats, "timed runs per figure (median)")->check(CLI::PositiveNumber);
  app.add_option("--size", size, "e2e input side")->check(CLI::Range(8, 4096));
  app.add_option("--blocks", blocks, "e2e residual blocks")->check(CLI::Range(0, 64));
  app.add_option("--channels", channels, "e2e channels")->check(CLI::Range(1, 1024));
  app.add_option("--scales", scales_list, "e2e scales")->check(CLI::IsMember({2, 3, 4}));
  app.add_option("--swinir-dir", swinir_dir,
                 "folder of bench/make_swinir_bench.py's files: adds SCALES-SwinIR rows to e2e");
  app.add_option("--swinir-size", swinir_size, "SwinIR e2e input side (the twin was traced at it)")
      ->check(CLI::Range(8, 4096));
  app.add_option("--onnx-dir", onnx_dir,
                 "time the EDSR FP twin in ONNX Runtime too, from DIR/fp-x<S>-b<B>c<C>.onnx "
                 "(scripts/py -m scales_train.onnx_export --front-dir DIR --shapes BxC --scales S,...)");
  std::vector<std::string> fp_names;
  for (const auto& f : fp_layer_settings()) fp_names.push_back(f.name);
  app.add_option("--fp-layers", fp_layers,
                 "e2e rows per FP-layer setting of the random EDSR (upsampler and tail precision; where this "
                 "CPU has no native kernel for one, it runs fp32, and the row's fp_layers_native says so)")
      ->check(CLI::IsMember(fp_names))
      ->capture_default_str();
  app.add_option("--ort-worker", ort_worker, "the ONNX Runtime worker script (bench/ort)");
  CLI11_PARSE(app, argc, argv);
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());

  try {
    scales::Engine engine(scales::EngineOptions{threads, kernel, 0});
    scales::runtime::ThreadPool pool(threads);
    sb::torch_set_threads(threads);
    const auto& kv = scales::kernels::select_kernel(engine.kernel());
    auto onnx_file = [&](int s) {
      return onnx_dir.empty() ? std::string() : sb::fp_edsr_onnx(onnx_dir, s, blocks, channels);
    };
    for (int s : scales_list) onnx_file(s);  // fail before the long timings, not after
    std::unique_ptr<sb::OrtRunner> ort;
    if (!onnx_dir.empty()) ort = std::make_unique<sb::OrtRunner>(ort_worker);
    json out;
    out["machine"] = {{"cpu", cpu_model()},
                      {"hardware_threads", std::thread::hardware_concurrency()},
                      {"ort_module", sb::ort_module()}};
    out["threads"] = threads;
    out["repeats"] = repeats;
    out["kernel"] = bench_kernel(kv, pool, repeats);
    // Every other SIMD variant this CPU runs, in the same run: the AVX2 and AVX-512 kernels'
    // efficiencies side by side (issue 19 asks for both from one machine state).
    out["kernels"] = json::array({out["kernel"]});
    for (const auto& v : scales::kernels::kernel_variants())
      if (v.supported && v.name != "ref" && v.name != kv.name) out["kernels"].push_back(bench_kernel(v, pool, repeats));
    // The body's memory traffic alone: 33 in-place passes over a 256x256x64 float map (read and
    // write each, as the epilogue does per layer), on the same pool. Whether this fits a cache
    // decides whether the body can be memory-bound (docs/benchmarks.md, the arithmetic).
    {
      std::vector<float> map(static_cast<size_t>(256) * 256 * 64, 1.0f);
      const int rows = 256;
      auto passes = [&] {
        for (int l = 0; l < 33; ++l)
          pool.parallel_for(rows / 4, [&](int ch) {
            float* p = map.data() + static_cast<size_t>(ch) * 4 * 256 * 64;
            for (size_t i = 0; i < size_t{4} * 256 * 64; ++i) p[i] = p[i] * 0.999f + 0.001f;
          });
      };
      passes();
      std::vector<double> t;
      for (int i = 0; i < repeats; ++i) {
        const double t0 = now_ms();
        passes();
        t.push_back(now_ms() - t0);
      }
      const double ms = median(t);
      out["residual_stream"] = {{"shape", "33 in-place passes over 256x256x64 floats"},
                                {"ms", ms},
                                {"gbytes_per_s", 33 * 2 * map.size() * sizeof(float) / (ms * 1e6)}};
    }
    if (kernel_only) {
      std::cout << (as_json ? out.dump() : out.dump(2)) << "\n";
      return 0;
    }

    // FP rate: the x2 upsampler conv, engine vs LibTorch. The engine's fp32 form for this shape is
    // Winograd's (fp/conv3x3_winograd.h), a quarter of the multiply-adds: its G MAC/s count the
    // direct form's, an effective rate, and the floor below divides the direct count by it.
    const int fh = 256, fw = 256;
    scales::model::FpConv fc;
    fc.in = 64;
    fc.out = 256;
    fc.weight.assign(64 * 256 * 9, 0.01f);
    fc.bias.assign(256, 0.0f);
    scales::fp::Conv3x3 conv(fc);
    std::vector<float> src(static_cast<size_t>(fh) * fw * 64, 0.5f), dst(static_cast<size_t>(fh) * fw * 256);
    const double fp_macs = double(fh) * fw * 64 * 256 * 9;
    conv.run(src.data(), fh, fw, dst.data(), threads);  // warm-up
    std::vector<double> to, tt;
    for (int i = 0; i < repeats; ++i) {  // alternating, as above
      const double t0 = now_ms();
      conv.run(src.data(), fh, fw, dst.data(), threads);
      to.push_back(now_ms() - t0);
      tt.push_back(sb::torch_conv_ms(64, 256, fh, fw));
    }
    const double ours_fp = median(to), torch_fp = median(tt);
    const double fp_rate = fp_macs / (ours_fp * 1e6);
    out["fp"] = {
        {"shape", "64->256 3x3 on 256x256"}, {"engine_gmacs", fp_rate}, {"torch_gmacs", fp_macs / (torch_fp * 1e6)}};

    out["e2e"] = json::array();
    for (int s : scales_list) {
      scales::model::SyntheticSpec spec;
      spec.scale = s;
      spec.blocks = blocks;
      spec.channels = channels;
      std::vector<std::unique_ptr<scales::Model>> models;
      std::vector<const scales::Model*> timed;
      std::vector<std::string> native;  // what each setting really runs here
      for (const auto& name : fp_layers) {
        const auto& f = *std::find_if(fp_layer_settings().begin(), fp_layer_settings().end(),
                                      [&](const FpLayers& x) { return x.name == name; });
        spec.up_precision = f.up;
        spec.tail_precision = f.tail;
        auto w = scales::model::synthetic_edsr(spec);
        native.push_back("up " + scales::fp::to_string(scales::fp::Conv3x3(w.up[0]).precision()) + ", tail " +
                         scales::fp::to_string(scales::fp::Conv3x3(w.tail).precision()));
        models.push_back(std::make_unique<scales::Model>(scales::net::make_edsr(std::move(w))));
        timed.push_back(models.back().get());
      }
      sb::TorchFpTwin twin(s, blocks, channels);
      const E2eTimes t =
          time_e2e(engine, timed, random_image(size, 2), twin, 1, repeats, ort.get(), onnx_file(s), threads);
      const double px = double(size) * size, c = channels;
      const double bin_macs = (2.0 * blocks + 1) * px * c * c * 9;
      double fp_total = px * 3 * c * 9, res2 = 1;
      for (int f : s == 4 ? std::vector<int>{2, 2} : std::vector<int>{s}) {
        fp_total += px * res2 * c * (f * f * c) * 9;
        res2 *= f * f;
      }
      fp_total += px * res2 * c * 3 * 9;
      const double roof = out["kernel"]["roofline_gmacs"].get<double>();
      const double floor_ms = bin_macs / (roof * 1e6) + fp_total / (fp_rate * 1e6);  // fp32 FP layers
      for (size_t k = 0; k < timed.size(); ++k) {
        json row = {{"model", "scales-edsr-b" + std::to_string(blocks) + "c" + std::to_string(channels)},
                    {"scale", s},
                    {"size", size},
                    {"threads", threads},
                    {"fp_layers", fp_layers[k]},
                    {"fp_layers_native", native[k]},
                    {"binary_gmac", bin_macs / 1e9},
                    {"fp_gmac", fp_total / 1e9},
                    {"floor_ms_fp32_layers", floor_ms},
                    {"ceiling_speedup_fp32_layers", t.torch / floor_ms}};
        add_speedups(row, t, t.engines[k]);
        out["e2e"].push_back(row);
      }
    }
    for (int s : scales_list) {
      if (swinir_dir.empty()) break;
      const std::string stem = swinir_dir + "/swinir-paper-x" + std::to_string(s);
      const auto model = scales::Model::load(stem + ".safetensors");
      sb::TorchScriptTwin twin(stem + "-fp-" + std::to_string(swinir_size) + ".torchscript.pt");
      // TorchScript's profiling executor optimises on its second call: three warm-ups. The ONNX
      // twin (make_swinir_bench.py writes it at the same size) is timed when the file is there.
      const std::string onnx = stem + "-fp-" + std::to_string(swinir_size) + ".onnx";
      const bool has_onnx = std::ifstream(onnx).good();
      if (has_onnx && !ort) ort = std::make_unique<sb::OrtRunner>(ort_worker);
      const E2eTimes t = time_e2e(engine, {model.get()}, random_image(swinir_size, 3), twin, 3, repeats,
                                  has_onnx ? ort.get() : nullptr, has_onnx ? onnx : "", threads);
      const double px = double(swinir_size) * swinir_size;
      const auto& info = model->info();
      json row = {
          {"model", "scales-swinir-c" + std::to_string(info.channels) + "-" + std::to_string(info.blocks) + "layers"},
          {"scale", s},
          {"size", swinir_size},
          {"threads", threads},
          {"binary_gmac", info.binary_macs_per_pixel * px / 1e9},
          {"fp_gmac", info.fp_macs_per_pixel * px / 1e9}};
      add_speedups(row, t, t.engines[0]);
      out["e2e"].push_back(row);
    }
    if (as_json) {
      std::cout << out.dump() << "\n";
    } else {
      std::cout << out.dump(2) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
