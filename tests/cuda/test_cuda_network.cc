// Whole networks on the CUDA backend against the CPU engine: SCALES-EDSR x2/x4 at the paper's
// width (C64), every SCALES component, whole images and tiles (two-pass statistics), the FP twin;
// a batch equals its tiles run one at a time; SwinIR runs its convs on the device and the rest on
// the CPU; every op against the CPU reference, op by op (backend_harness.h). The target is
// 60 dB PSNR against the CPU (the bar); the kernels alone are bit-exact (test_cuda_kernels).
#include <gtest/gtest.h>

#include <cstdlib>

#include "backend/backend.h"
#include "backend_harness.h"
#include "cuda_test_util.h"
#include "model/synthetic.h"
#include "net/edsr.h"
#include "scales/engine.h"
#include "test_util.h"

namespace scales {
namespace {

std::shared_ptr<const Model> synthetic(int scale, int blocks, int channels, bool binary, uint32_t seed) {
  model::SyntheticSpec s;
  s.scale = scale;
  s.blocks = blocks;
  s.channels = channels;
  s.binary = binary;
  s.seed = seed;
  return std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
}

EngineOptions opts(const std::string& backend, int tile) {
  EngineOptions o;
  o.threads = 2;
  o.tile = tile;
  o.backend = backend;
  return o;
}

void expect_close(const Image& gpu, const Image& cpu, const std::string& what) {
  ASSERT_EQ(gpu.width, cpu.width) << what;
  ASSERT_EQ(gpu.height, cpu.height) << what;
  for (float v : gpu.rgb) ASSERT_TRUE(std::isfinite(v)) << what;
  const auto d = testing::compare(gpu, cpu);
  std::printf("%s: %.1f dB vs CPU, max |diff| %.2e, 8-bit values changed %.4f%%\n", what.c_str(), d.psnr, d.max_abs,
              100 * d.changed_8bit);
  EXPECT_GE(d.psnr, 60.0) << what;
}

TEST(CudaNetwork, EdsrMatchesTheCpuEngine) {
  SCALES_REQUIRE_GPU();
  Engine cpu(opts("cpu", 1 << 20)), gpu(opts("cuda", 1 << 20));
  EXPECT_NE(gpu.backend().find("cuda"), std::string::npos);
  for (int scale : {2, 4})
    for (bool binary : {true, false}) {
      const auto m = synthetic(scale, 4, 64, binary, 7 + scale);
      const Image in = testing::random_image(61, 47, 3 + scale);
      expect_close(gpu.upscale(*m, in), cpu.upscale(*m, in),
                   "x" + std::to_string(scale) + (binary ? " SCALES" : " FP twin") + " C64 61x47");
    }
}

TEST(CudaNetwork, WidthsTheTensorCoreKernelDoesNotTakeUseTheReferenceConv) {
  SCALES_REQUIRE_GPU();
  Engine cpu(opts("cpu", 1 << 20)), gpu(opts("cuda", 1 << 20));
  for (int c : {12, 30}) {
    const auto m = synthetic(2, 2, c, true, 50 + c);
    const Image in = testing::random_image(23, 19, c);
    expect_close(gpu.upscale(*m, in), cpu.upscale(*m, in), "x2 C" + std::to_string(c));
  }
}

TEST(CudaNetwork, TiledWithImageStatisticsMatchesTheCpuEngine) {
  SCALES_REQUIRE_GPU();
  const auto m = synthetic(2, 3, 64, true, 21);
  const Image in = testing::random_image(90, 70, 9);
  Engine cpu(opts("cpu", 32)), gpu(opts("cuda", 32));  // 3x3 tiles of one size and smaller edges
  expect_close(gpu.upscale(*m, in), cpu.upscale(*m, in), "x2 tiled 32, two-pass statistics");
  EXPECT_GE(gpu.device_stats().batches, 2u);
}

TEST(CudaNetwork, ABatchEqualsItsTilesOneAtATime) {
  SCALES_REQUIRE_GPU();
  const auto m = synthetic(2, 2, 64, true, 33);
  Engine gpu(opts("cuda", 1 << 20));
  std::vector<Image> ins;
  for (uint32_t k = 0; k < 5; ++k) ins.push_back(testing::random_image(40, 24, 100 + k));
  std::vector<std::unique_ptr<TileJob>> jobs;
  std::vector<TileTask> tasks;
  for (auto& im : ins) {
    jobs.push_back(std::make_unique<TileJob>(m, im, 1 << 20));
    for (int t : jobs.back()->take_ready()) tasks.push_back({jobs.back().get(), t});
  }
  const auto before = gpu.device_stats().batches;
  const auto outcomes = gpu.run(tasks);
  EXPECT_EQ(gpu.device_stats().batches, before + 1);  // one batch for all five
  for (size_t k = 0; k < ins.size(); ++k) {
    ASSERT_TRUE(outcomes[k].error.empty()) << outcomes[k].error;
    ASSERT_TRUE(outcomes[k].completed);
    const Image alone = gpu.upscale(*m, ins[k]);
    const Image batched = jobs[k]->take_result();
    ASSERT_EQ(alone.rgb.size(), batched.rgb.size());
    // The binary layers are exact per tile; cuBLAS may pick another GEMM split for another batch
    // size, so the FP convs agree to float rounding only.
    EXPECT_GE(testing::compare(alone, batched).psnr, 100.0) << "image " << k;
  }
  const DeviceStats s = gpu.device_stats();
  EXPECT_GT(s.kernel_seconds, 0.0);
  EXPECT_GT(s.memory_reserved, 0u);
  EXPECT_GE(s.tiles, 10u);
}

TEST(CudaNetwork, ReferenceKernelGivesTheSameImage) {
  SCALES_REQUIRE_GPU();
  const auto m = synthetic(2, 2, 64, true, 44);
  const Image in = testing::random_image(45, 30, 4);
  Engine fast(opts("cuda", 1 << 20));
  const Image a = fast.upscale(*m, in);
  setenv("SCALES_CUDA_KERNEL", "ref", 1);
  Engine ref(opts("cuda", 1 << 20));
  unsetenv("SCALES_CUDA_KERNEL");
  EXPECT_NE(ref.backend().find("reference"), std::string::npos);
  const Image b = ref.upscale(*m, in);
  for (size_t j = 0; j < a.rgb.size(); ++j) ASSERT_EQ(a.rgb[j], b.rgb[j]) << "value " << j;
}

TEST(CudaNetwork, SwinirRunsOnACudaEngineWithItsOtherOpsOnTheCpu) {
  SCALES_REQUIRE_GPU();
  const char* src = std::getenv("SCALES_SOURCE_DIR");  // the device machine's checkout, else the build's
  const auto m =
      Model::load(std::string(src ? src : SCALES_SOURCE_DIR) + "/tests/golden/swinir-fixture-x3.safetensors");
  const Image in = testing::random_image(20, 16, 5);
  Engine cpu(opts("cpu", 1 << 20)), gpu(opts("cuda", 1 << 20));
  expect_close(gpu.upscale(*m, in), cpu.upscale(*m, in), "SwinIR");
  EXPECT_GT(gpu.device_stats().batches, 0u);
}

// Every op the CUDA backend runs, against the CPU reference from the same inputs
// (backend_harness.h): binary convs exact up to the epilogue's float rounding, FP convs (cuBLAS
// FP32) to float rounding.
TEST(CudaNetwork, EveryOpMatchesTheCpuReferenceOpByOp) {
  SCALES_REQUIRE_GPU();
  auto device = backend::make_cuda_backend(0);
  const Image a = testing::random_image(24, 17, 3), b = testing::random_image(24, 17, 4);
  for (bool binary : {true, false}) {
    const auto m = synthetic(2, 2, 64, binary, 11);
    const auto checks = testing::compare_op_by_op(m->network(), {&a, &b}, *device);
    ASSERT_FALSE(checks.empty());
    for (const auto& c : checks)
      EXPECT_LE(c.max_abs, 1e-4 * std::max(1.0, c.max_ref)) << "op " << c.op << " (" << c.name << ")";
  }
  const char* src = std::getenv("SCALES_SOURCE_DIR");
  const auto s =
      Model::load(std::string(src ? src : SCALES_SOURCE_DIR) + "/tests/golden/swinir-fixture-x3.safetensors");
  const Image sw = testing::random_image(20, 16, 5);
  for (const auto& c : testing::compare_op_by_op(s->network(), {&sw}, *device))
    EXPECT_LE(c.max_abs, 1e-4 * std::max(1.0, c.max_ref)) << "SwinIR op " << c.op << " (" << c.name << ")";
}

}  // namespace
}  // namespace scales
