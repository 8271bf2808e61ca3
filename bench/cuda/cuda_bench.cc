// scales-bench-cuda: the CUDA backend's speed on the GPU it runs on (bench/cuda/device_check.sh
// runs it beside the FP16 twin through PyTorch, bench/cuda/torch_fp16_twin.py).
//
//   ceiling  device-to-device copy of 2 GiB: the memory bandwidth the layers are measured against
//   layers   one binary layer of paper-size EDSR (C64) on a batch of 256x256 tiles: sign packing
//            (+ spatial factors), the channel statistics, the tensor-core conv with its fused
//            epilogue, and the reference conv + epilogue; each with its bytes moved, the
//            bandwidth floor and the fraction of it reached
//   e2e      paper-size SCALES-EDSR (B16 C64, random weights) x2 and x4 on batches of 256x256
//            tiles through the backend (upload, network, download): ms per batch, images/s
//
// Every figure is the median of --repeats timed runs after warm-up.
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/executor.h"
#include "cuda/check.h"
#include "cuda/kernels.h"
#include "model/synthetic.h"
#include "net/edsr.h"

using nlohmann::json;
namespace sc = scales::cuda;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median milliseconds of fn() between two CUDA events, after 3 warm-ups.
template <typename F>
double time_events(F fn, int repeats) {
  cudaEvent_t a, b;
  SCALES_CUDA_CHECK(cudaEventCreate(&a));
  SCALES_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    SCALES_CUDA_CHECK(cudaEventRecord(a));
    fn();
    SCALES_CUDA_CHECK(cudaEventRecord(b));
    SCALES_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    SCALES_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return median(ms);
}

template <typename T>
T* dev_alloc(size_t n) {
  T* p = nullptr;
  SCALES_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  return p;
}

template <typename T>
T* dev_random(size_t n, std::mt19937& rng) {
  std::vector<T> h(n);
  if constexpr (std::is_floating_point_v<T>) {
    std::normal_distribution<T> nd;
    for (auto& v : h) v = nd(rng);
  } else {
    std::uniform_int_distribution<T> u;
    for (auto& v : h) v = u(rng);
  }
  T* p = dev_alloc<T>(n);
  SCALES_CUDA_CHECK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}

double copy_bandwidth_gbs(int repeats) {
  const size_t bytes = size_t{2} << 30;
  std::mt19937 rng(1);
  char* src = dev_alloc<char>(bytes);
  char* dst = dev_alloc<char>(bytes);
  SCALES_CUDA_CHECK(cudaMemset(src, 0x5a, bytes));
  const double ms =
      time_events([&] { SCALES_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice)); }, repeats);
  cudaFree(src);
  cudaFree(dst);
  return 2.0 * bytes / (ms * 1e6);  // bytes read + written
}

json bench_layers(int n, int repeats, double gbs) {
  const int h = 256, w = 256, c = 64, words = 1;
  const int64_t px = int64_t(n) * h * w;
  std::mt19937 rng(2);
  float* x = dev_random<float>(size_t(px) * c, rng);
  float* shift = dev_random<float>(c, rng);
  float* sw = dev_random<float>(c, rng);
  float* gk = dev_random<float>(c, rng);
  float* cfac = dev_random<float>(size_t(n) * c, rng);
  float* s = dev_alloc<float>(px);
  const size_t pw = size_t(n) * (h + 2) * (w + 2) * words;
  uint64_t* packed = dev_alloc<uint64_t>(pw);
  SCALES_CUDA_CHECK(cudaMemset(packed, 0, pw * 8));
  uint64_t* wbits = dev_random<uint64_t>(size_t(c) * 9 * words, rng);
  uint64_t* chunks = dev_random<uint64_t>(size_t(sc::bmma_kchunks(words)) * c * 2, rng);
  int* popc = dev_alloc<int>(c);
  SCALES_CUDA_CHECK(cudaMemset(popc, 0, c * sizeof(int)));
  int32_t* ybin = dev_alloc<int32_t>(size_t(px) * c);
  std::vector<int4> rects(n, int4{0, 0, w, h});
  int4* drects = dev_alloc<int4>(n);
  SCALES_CUDA_CHECK(cudaMemcpy(drects, rects.data(), n * sizeof(int4), cudaMemcpyHostToDevice));
  double* partial = dev_alloc<double>(size_t(n) * sc::sum_bands(h) * c);
  double* sums = dev_alloc<double>(size_t(n) * c);

  json rows = json::array();
  auto row = [&](const std::string& name, double ms, double bytes) {
    const double floor_ms = bytes / (gbs * 1e6);
    rows.push_back({{"name", name},
                    {"batch", n},
                    {"ms", ms},
                    {"bytes", bytes},
                    {"floor_ms", floor_ms},
                    {"fraction_of_bandwidth", floor_ms / ms}});
    std::printf("  %-28s batch %2d: %8.3f ms  floor %7.3f ms  %5.1f%% of bandwidth\n", name.c_str(), n, ms, floor_ms,
                100 * floor_ms / ms);
  };
  const double fmap = double(px) * c * 4, pmap = double(pw) * 8;
  row("pack+spatial", time_events([&] { sc::pack_signs(x, n, h, w, c, shift, sw, 0.1f, packed, s, 0); }, repeats),
      fmap + pmap + px * 4.0);
  row("channel_sums", time_events([&] { sc::channel_sums(x, n, h, w, c, drects, partial, sums, 0); }, repeats), fmap);
  // Fused conv: reads the packed map and x (and s), writes x.
  row("bconv_bmma_fused",
      time_events([&] { sc::bconv3x3_bmma(packed, n, h, w, words, chunks, popc, c, c, gk, s, cfac, nullptr, x, 0); },
                  repeats),
      pmap + 2 * fmap + px * 4.0);
  row("bconv_ref+epilogue",
      time_events(
          [&] {
            sc::bconv3x3_ref(packed, n, h, w, words, wbits, c, c, ybin, 0);
            sc::bconv_epilogue(ybin, gk, s, cfac, nullptr, n, h, w, c, x, 0);
          },
          repeats),
      pmap + 2 * fmap + px * 4.0);
  for (void* p : {(void*)x, (void*)shift, (void*)sw, (void*)gk, (void*)cfac, (void*)s, (void*)packed, (void*)wbits,
                  (void*)chunks, (void*)popc, (void*)ybin, (void*)drects, (void*)partial, (void*)sums})
    cudaFree(p);
  return rows;
}

json bench_e2e(scales::backend::Backend& be, int scale, int n, int repeats) {
  scales::model::SyntheticSpec spec;
  spec.scale = scale;
  spec.blocks = 16;
  spec.channels = 64;
  spec.seed = 5;
  const auto net = scales::net::make_edsr(scales::model::synthetic_edsr(spec));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<scales::Image> tiles(n);
  std::vector<const scales::Image*> ptrs;
  for (auto& t : tiles) {
    t.width = t.height = 256;
    t.rgb.resize(256 * 256 * 3);
    for (auto& v : t.rgb) v = u(rng);
    ptrs.push_back(&t);
  }
  // Every EDSR op runs on the device; the executor needs a CPU backend all the same.
  scales::runtime::ThreadPool pool(1);
  scales::runtime::Workspace ws(size_t{64} << 20);
  scales::backend::CpuBackend cpu(pool, scales::kernels::select_kernel(""), ws);
  auto forward = [&] {
    scales::backend::Batch b;
    b.in = ptrs;
    b.plans.resize(n);
    b.host_memory = &ws;
    return scales::backend::execute(*net, b, cpu, {&be, nullptr});
  };
  for (int i = 0; i < 2; ++i) forward();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    forward();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double m = median(ms);
  std::printf("  e2e SCALES-EDSR B16C64 x%d batch %2d: %8.2f ms  %7.1f img/s\n", scale, n, m, 1000.0 * n / m);
  return {{"name", "cuda_e2e_x" + std::to_string(scale) + "_b" + std::to_string(n)},
          {"scale", scale},
          {"batch", n},
          {"size", 256},
          {"ms", m},
          {"images_per_s", 1000.0 * n / m}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scales-bench-cuda: the CUDA backend's speed"};
  std::string json_path;
  int repeats = 20;
  std::string batches = "1,8,16";
  app.add_option("--json", json_path, "write the results here");
  app.add_option("--repeats", repeats, "timed runs per figure (median)")->check(CLI::PositiveNumber);
  app.add_option("--batches", batches, "e2e batch sizes, comma separated");
  CLI11_PARSE(app, argc, argv);
  try {
    auto be = scales::backend::make_cuda_backend(0);
    std::printf("device: %s\n", be->name().c_str());
    json out = {{"device", be->name()}};
    const double gbs = copy_bandwidth_gbs(repeats);
    std::printf("device-to-device copy: %.0f GB/s (read + write)\n", gbs);
    out["copy_gbs"] = gbs;
    out["layers"] = json::array();
    for (int n : {1, 8})
      for (auto& r : bench_layers(n, repeats, gbs)) out["layers"].push_back(r);
    out["e2e"] = json::array();
    std::stringstream ss(batches);
    std::vector<int> bs;
    for (std::string b; std::getline(ss, b, ',');) bs.push_back(std::stoi(b));
    for (int scale : {2, 4})
      for (int n : bs) out["e2e"].push_back(bench_e2e(*be, scale, n, repeats));
    const auto st = be->stats();
    out["pool_reserved_bytes"] = st.memory_reserved;
    if (!json_path.empty()) std::ofstream(json_path) << out.dump(1) << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
