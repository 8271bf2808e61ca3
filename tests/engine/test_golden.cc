// Whole-model parity: every released model's golden tensors (written by scales_train.export from the
// TorchScript oracle) reproduced by the engine.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "kernels/variant.h"
#include "model/safetensors.h"
#include "net/network.h"
#include "runtime/thread_pool.h"
#include "runtime/workspace.h"
#include "scales/engine.h"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> golden_files() {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(SCALES_SOURCE_DIR) / "tests" / "golden";
  if (fs::is_directory(dir))
    for (auto& e : fs::directory_iterator(dir))
      if (e.path().string().ends_with(".golden.safetensors")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// A released model (models/weights) or a test fixture kept beside its golden file.
fs::path model_of(const fs::path& golden, const std::string& name) {
  const fs::path beside = golden.parent_path() / name;
  return fs::exists(beside) ? beside : fs::path(SCALES_SOURCE_DIR) / "models" / "weights" / name;
}

// NCHW (1, 3, h, w) float -> HWC image.
scales::Image to_image(const scales::model::TensorView& t) {
  scales::Image im;
  im.height = static_cast<int>(t.shape[2]);
  im.width = static_cast<int>(t.shape[3]);
  const auto* v = reinterpret_cast<const float*>(t.bytes.data());
  im.rgb.resize(static_cast<size_t>(im.height) * im.width * 3);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < im.height * im.width; ++p) im.rgb[p * 3 + c] = v[c * im.height * im.width + p];
  return im;
}

TEST(Golden, ReleasedModelsMatchTheirTorchScriptOracle) {
  const auto files = golden_files();
  ASSERT_FALSE(files.empty()) << "no tests/golden/*.golden.safetensors";
  for (const auto& g : files) {
    SCOPED_TRACE(g.string());
    const auto bytes = read_file(g);
    const auto st = scales::model::parse_safetensors(bytes, g.string());
    const fs::path model = model_of(g, st.metadata.at("model"));
    ASSERT_TRUE(fs::exists(model)) << model;
    const auto m = scales::Model::load(model.string());
    const auto in = to_image(st.tensors.at("input"));
    const auto want = to_image(st.tensors.at("output"));
    scales::EngineOptions o;
    o.fp_precision = "fp32";  // the oracle is fp32; the recorded precisions have their own test (tests/client)
    const auto got = scales::Engine(o).upscale(*m, in);
    ASSERT_EQ(got.width, want.width);
    ASSERT_EQ(got.height, want.height);
    double max_err = 0, se = 0;
    for (size_t i = 0; i < got.rgb.size(); ++i) {
      const double d = std::abs(double(got.rgb[i]) - want.rgb[i]);
      max_err = std::max(max_err, d);
      se += d * d;
    }
    const double psnr = 10 * std::log10(1.0 / (se / got.rgb.size()));
    EXPECT_GT(psnr, 80.0) << "max |diff| " << max_err;
    EXPECT_LT(max_err, 2e-3);
  }
}

// The engine sets OpenMP's thread count for its oneDNN calls on whatever thread runs them, the
// caller's included; it must put the caller's back (fp/omp_threads.h), or LibTorch / OpenBLAS
// run next in the same process would silently go single-threaded.
TEST(Golden, ForwardLeavesTheCallersOpenMpThreadCount) {
  const fs::path weights = fs::path(SCALES_SOURCE_DIR) / "models" / "weights";
  scales::EngineOptions o;
  o.threads = 2;
  scales::Engine engine(o);
  for (const char* name : {"scales-edsr-x2.safetensors", "scales-swinir-x2.safetensors"}) {
    SCOPED_TRACE(name);
    const auto m = scales::Model::load((weights / name).string());
    scales::Image in;
    in.height = 24;
    in.width = 40;
    in.rgb.assign(static_cast<size_t>(in.height) * in.width * 3, 0.f);
    for (size_t i = 0; i < in.rgb.size(); ++i) in.rgb[i] = static_cast<float>((i * 37) % 101) / 100.f;
    omp_set_num_threads(5);
    const auto out = engine.upscale(*m, in);
    EXPECT_EQ(out.width, in.width * m->info().scale);
    EXPECT_EQ(omp_get_max_threads(), 5);
  }
}

}  // namespace

// Layer-level parity: the feature maps the golden file holds (EDSR: head, every block, body end;
// SwinIR: conv_first, every group), tapped from the engine and compared with the oracle's (written by
// scales_train.export), for every kernel variant this CPU runs.
TEST(Golden, EveryLayerMatchesTheOracle) {
  const auto files = golden_files();
  ASSERT_FALSE(files.empty());
  for (const auto& g : files) {
    SCOPED_TRACE(g.string());
    const auto bytes = read_file(g);
    const auto st = scales::model::parse_safetensors(bytes, g.string());
    const auto m = scales::Model::load(model_of(g, st.metadata.at("model")).string());
    const auto in = to_image(st.tensors.at("input"));
    for (const auto& k : scales::kernels::kernel_variants()) {
      if (!k.supported) continue;
      SCOPED_TRACE(std::string(k.name));
      int checked = 0;
      scales::net::LayerTap tap = [&](const std::string& name, int h, int w, int c, const float* hwc) {
        const auto it = st.tensors.find("layer." + name);
        ASSERT_NE(it, st.tensors.end()) << "golden file lacks layer." << name;
        const auto& t = it->second;
        ASSERT_EQ(t.shape, (std::vector<int64_t>{1, c, h, w})) << name;
        const auto* want = reinterpret_cast<const float*>(t.bytes.data());
        double max_err = 0, max_ref = 0;
        for (int ch = 0; ch < c; ++ch)
          for (int p = 0; p < h * w; ++p) {
            const double r = want[static_cast<size_t>(ch) * h * w + p];
            max_ref = std::max(max_ref, std::abs(r));
            max_err = std::max(max_err, std::abs(r - hwc[static_cast<size_t>(p) * c + ch]));
          }
        EXPECT_LT(max_err, 1e-4 * std::max(1.0, max_ref)) << name << " (max |ref| " << max_ref << ")";
        ++checked;
      };
      scales::runtime::ThreadPool pool(2);
      scales::runtime::Workspace ws(1 << 20);
      scales::net::Runtime rt{pool, k, ws, &tap, /*low_precision=*/false};  // the oracle is fp32
      m->network().forward(in, rt);
      int layers = 0;  // EDSR: head, every block, body end; SwinIR: conv_first, every group
      for (const auto& [name, _] : st.tensors) layers += name.starts_with("layer.");
      EXPECT_EQ(checked, layers);
    }
  }
}
