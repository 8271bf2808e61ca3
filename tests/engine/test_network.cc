// Whole networks: every kernel variant and every thread count give the same image; tiles
// stitch to the whole-image result; tile planning covers the image exactly once.
#include <gtest/gtest.h>

#include <thread>

#include "kernels/variant.h"
#include "model/synthetic.h"
#include "net/edsr.h"
#include "scales/engine.h"
#include "test_util.h"
#include "tile/tiler.h"

namespace scales {
namespace {

std::shared_ptr<const Model> synthetic(int scale, int blocks, int channels, std::set<std::string> comps,
                                       bool binary = true) {
  model::SyntheticSpec s;
  s.scale = scale;
  s.blocks = blocks;
  s.channels = channels;
  s.components = std::move(comps);
  s.binary = binary;
  s.seed = scale * 100 + channels;
  return std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
}

const std::set<std::string> kAll = {"shift", "layer_scale", "spatial", "channel"};

TEST(Network, EveryKernelVariantGivesTheSameImage) {
  // Integer sums are exact and the epilogue is shared, so outputs must be bit-identical.
  for (int channels : {32, 65}) {
    const auto m = synthetic(2, 2, channels, kAll);
    const Image in = testing::random_image(23, 17, channels);
    Engine ref(EngineOptions{2, "ref", 0});
    const Image want = ref.upscale(*m, in);
    for (const auto& k : kernels::kernel_variants()) {
      if (!k.supported) {
        std::printf("[ SKIPPED  ] kernel %s: not supported by this CPU\n", std::string(k.name).c_str());
        continue;
      }
      Engine e(EngineOptions{2, std::string(k.name), 0});
      const Image got = e.upscale(*m, in);
      ASSERT_EQ(got.rgb, want.rgb) << "kernel " << k.name << ", C=" << channels;
    }
  }
}

TEST(Network, ThreadCountDoesNotChangeTheImage) {
  const auto m = synthetic(4, 1, 40, kAll);
  const Image in = testing::random_image(31, 9, 3);
  Engine one(EngineOptions{1, "", 0}), three(EngineOptions{3, "", 0});
  EXPECT_EQ(one.upscale(*m, in).rgb, three.upscale(*m, in).rgb);
}

TEST(Network, OnePixelImageUpscales) {
  for (int s : {2, 4}) {
    const auto m = synthetic(s, 1, 16, kAll);
    const Image out = Engine(EngineOptions{2, "", 0}).upscale(*m, testing::random_image(1, 1, 5));
    ASSERT_EQ(out.width, s);
    for (float v : out.rgb) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(Network, OutputHasScaledSize) {
  for (int s : {2, 3, 4}) {
    const auto m = synthetic(s, 1, 16, kAll);
    const Image out = Engine(EngineOptions{2, "", 0}).upscale(*m, testing::random_image(7, 5, s));
    EXPECT_EQ(out.width, 7 * s);
    EXPECT_EQ(out.height, 5 * s);
    EXPECT_EQ(out.rgb.size(), size_t(7 * s) * 5 * s * 3);
  }
}

// Without channel re-scaling a tile's core sees exactly what it sees in the whole image, so
// the stitched result equals the whole-image result up to float noise from oneDNN choosing
// different blockings for different map sizes.
TEST(Tiling, StitchedEqualsWholeImageWithoutImageStatistics) {
  struct Case {
    int scale;
    bool binary;
    std::set<std::string> comps;
  };
  for (const Case& c : {Case{2, true, {"shift", "layer_scale", "spatial"}}, Case{4, true, {"shift", "spatial"}},
                        Case{3, true, {"layer_scale"}}, Case{2, false, {}}}) {
    const auto m = synthetic(c.scale, 2, 24, c.comps, c.binary);
    const Image in = testing::random_image(61, 47, c.scale);
    const Image whole = Engine(EngineOptions{2, "", 1 << 20}).upscale(*m, in);
    for (int tile : {16, 25, 40}) {
      const Image tiled = Engine(EngineOptions{2, "", tile}).upscale(*m, in);
      const auto d = testing::compare(whole, tiled);
      EXPECT_LT(d.max_abs, 1e-4) << "x" << c.scale << " binary=" << c.binary << " tile " << tile;
      // Float noise can only move a value that sits on an 8-bit rounding boundary.
      EXPECT_LT(d.changed_8bit, 1e-4) << "x" << c.scale << " tile " << tile;
    }
  }
}

// Channel re-scaling uses the mean of each layer's input over the image; a tile sees its own
// window's mean. The deviation is small and shrinks with the tile; docs/engine.md has the numbers.
TEST(Tiling, ChannelStatisticsDeviationIsSmall) {
  const auto m = synthetic(2, 2, 24, kAll);
  const Image in = testing::random_image(96, 80, 9);
  const Image whole = Engine(EngineOptions{2, "", 1 << 20}).upscale(*m, in);
  const auto d = testing::compare(whole, Engine(EngineOptions{2, "", 40}).upscale(*m, in));
  EXPECT_GT(d.psnr, 40.0);
}

TEST(Tiling, PlanCoversEveryPixelOnceAndClipsWindows) {
  for (auto [w, h, tile, ctx] : {std::tuple{100, 37, 32, 5}, std::tuple{1, 1, 16, 9}, std::tuple{513, 257, 128, 36}}) {
    std::vector<int> hits(static_cast<size_t>(w) * h, 0);
    for (const auto& t : tile::plan_tiles(w, h, tile, ctx)) {
      EXPECT_LE(t.core.width(), tile);
      EXPECT_LE(t.core.height(), tile);
      EXPECT_EQ(t.window.x0, std::max(0, t.core.x0 - ctx));
      EXPECT_EQ(t.window.y1, std::min(h, t.core.y1 + ctx));
      for (int y = t.core.y0; y < t.core.y1; ++y)
        for (int x = t.core.x0; x < t.core.x1; ++x) ++hits[static_cast<size_t>(y) * w + x];
    }
    for (int v : hits) ASSERT_EQ(v, 1);
  }
}

TEST(Tiling, AlignedPlanStartsEveryCoreAndWindowOnTheGrid) {
  // SwinIR's tiles: cores and windows start at multiples of the window (8), the context is
  // rounded up to it, cores still partition the image and stay within the tile side.
  for (auto [w, h, tile, ctx] : {std::tuple{100, 37, 32, 5}, std::tuple{7, 5, 16, 16}, std::tuple{513, 257, 60, 16}}) {
    std::vector<int> hits(static_cast<size_t>(w) * h, 0);
    for (const auto& t : tile::plan_tiles(w, h, tile, ctx, 8)) {
      EXPECT_EQ(t.core.x0 % 8, 0);
      EXPECT_EQ(t.core.y0 % 8, 0);
      EXPECT_EQ(t.window.x0 % 8, 0);
      EXPECT_EQ(t.window.y0 % 8, 0);
      EXPECT_LE(t.core.width(), std::max(8, tile / 8 * 8));
      EXPECT_LE(t.core.height(), std::max(8, tile / 8 * 8));
      EXPECT_EQ(t.window.x0, std::max(0, t.core.x0 - (ctx + 7) / 8 * 8));
      for (int y = t.core.y0; y < t.core.y1; ++y)
        for (int x = t.core.x0; x < t.core.x1; ++x) ++hits[static_cast<size_t>(y) * w + x];
    }
    for (int v : hits) ASSERT_EQ(v, 1);
  }
}

TEST(Tiling, AutomaticTileKeepsTheBudget) {
  // 1 KiB per pixel and 1 MiB: a 32 x 32 window; the core leaves room for 2 x 4 context.
  EXPECT_EQ(tile::auto_tile_size(4000, 3000, 4, 1024, 1 << 20), 24);
  EXPECT_EQ(tile::auto_tile_size(20, 30, 4, 1024, 1 << 20), 30);  // fits whole
}

TEST(Engine, BadOptionsAreClearErrors) {
  EXPECT_THROW(Engine(EngineOptions{1, "sse9", 0}), Error);
  EXPECT_THROW(Engine(EngineOptions{1, "", -1}), Error);
}

// Without a GPU (this build machine, CI): "cuda" is a clear error, "auto" falls back to the CPU.
TEST(Engine, BackendChoiceWithoutAGpu) {
  EngineOptions o;
  o.threads = 1;
  o.backend = "tpu";
  try {
    Engine e(o);
    FAIL() << "an unknown backend was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpu, cuda or auto"), std::string::npos) << e.what();
  }
  o.backend = "auto";
  Engine a(o);
  const bool gpu = a.backend() != "cpu";
  if (gpu) GTEST_SKIP() << "a CUDA device is present (" << a.backend() << "); tests/cuda covers it";
  EXPECT_EQ(a.device_stats().device, "");
  const auto m = synthetic(2, 1, 16, kAll);
  EXPECT_EQ(a.upscale(*m, testing::random_image(9, 7, 1)).width, 18);
  o.backend = "cuda";
  try {
    Engine e(o);
    FAIL() << "backend cuda accepted without a device";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.find("no CUDA backend") != std::string::npos || msg.find("no CUDA device") != std::string::npos)
        << msg;
  }
}

}  // namespace
}  // namespace scales

namespace scales {
namespace {

// One task through the engine's tile driver; true when it finished its job.
bool run_task(Engine& e, TileJob& job, int task) {
  const TileTask t{&job, task};
  const auto out = e.run(std::span<const TileTask>(&t, 1));
  if (!out[0].error.empty()) throw Error(out[0].error);
  return out[0].completed;
}

TEST(TileJobTest, TwoPassReleasesPassTwoAfterPassOne) {
  model::SyntheticSpec s;
  s.blocks = 1;
  s.channels = 16;
  const auto m = std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
  TileJob job(m, testing::random_image(50, 30, 1), 20);
  ASSERT_EQ(job.tiles(), 6);
  ASSERT_EQ(job.tasks_total(), 12);
  Engine e(EngineOptions{1, "", 0});
  const auto first = job.take_ready();
  ASSERT_EQ(first.size(), 6u);
  EXPECT_TRUE(job.take_ready().empty());  // each task handed out once
  for (size_t i = 0; i + 1 < first.size(); ++i) run_task(e, job, first[i]);
  EXPECT_TRUE(job.take_ready().empty());  // pass 2 waits for the last pass-1 task
  run_task(e, job, first.back());
  const auto second = job.take_ready();
  ASSERT_EQ(second.size(), 6u);
  bool finished = false;
  for (int t : second) finished = run_task(e, job, t);
  EXPECT_TRUE(finished && job.done());
  const Image want = Engine(EngineOptions{1, "", 20}).upscale(*m, testing::random_image(50, 30, 1));
  EXPECT_LT(testing::compare(job.take_result(), want).max_abs, 1e-5);
}

TEST(TileDriver, AFailedTaskLeavesTheOthersRunning) {
  model::SyntheticSpec s;
  s.blocks = 1;
  s.channels = 8;
  s.components = {"shift", "spatial"};  // one pass
  const auto m = std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
  const Image in = testing::random_image(40, 20, 4);
  TileJob job(m, in, 20);
  const auto ready = job.take_ready();
  ASSERT_EQ(ready.size(), 2u);
  Engine e(EngineOptions{1, "", 0});
  const std::vector<TileTask> tasks = {{&job, ready[0]}, {&job, 99}, {&job, ready[1]}};
  const auto out = e.run(tasks);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].error.empty() && !out[0].completed);
  EXPECT_NE(out[1].error.find("out of range"), std::string::npos) << out[1].error;
  EXPECT_TRUE(out[2].error.empty() && out[2].completed);
  ASSERT_TRUE(job.done());
  EXPECT_LT(testing::compare(job.take_result(), Engine(EngineOptions{1, "", 1 << 20}).upscale(*m, in)).max_abs, 1e-4);
  // On the CPU every task of a network shares one key, with no batch limit.
  EXPECT_EQ(e.batch_key(job, 0), e.batch_key(job, 1));
  EXPECT_EQ(e.batch_key(job, 0).network, m->network().instance_id());
  EXPECT_FALSE(e.batch_key(job, 0).device);
  EXPECT_EQ(e.batch_limit(job, 0), 0u);
}

TEST(TileJobTest, TasksRunConcurrentlyOnSeveralEngines) {
  model::SyntheticSpec s;
  s.blocks = 1;
  s.channels = 16;
  s.components = {"shift", "spatial"};  // no image statistics: tiles are independent
  const auto m = std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
  const Image in = testing::random_image(64, 48, 2);
  TileJob job(m, in, 16);
  const auto tasks = job.take_ready();
  ASSERT_EQ(tasks.size(), 12u);
  Engine a(EngineOptions{1, "", 0}), b(EngineOptions{1, "", 0});
  std::thread other([&] {
    for (size_t i = 1; i < tasks.size(); i += 2) run_task(b, job, tasks[i]);
  });
  for (size_t i = 0; i < tasks.size(); i += 2) run_task(a, job, tasks[i]);
  other.join();
  ASSERT_TRUE(job.done());
  const Image want = Engine(EngineOptions{1, "", 1 << 20}).upscale(*m, in);
  EXPECT_LT(testing::compare(job.take_result(), want).max_abs, 1e-4);
}

TEST(TileJobTest, BadInputIsAClearError) {
  model::SyntheticSpec s;
  s.blocks = 0;
  s.channels = 8;
  const auto m = std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
  EXPECT_THROW(TileJob(m, Image{}, 16), Error);
  EXPECT_THROW(TileJob(m, testing::random_image(4, 4, 0), 0), Error);
}

}  // namespace
}  // namespace scales
