// Streaming a tile job: every output pixel arrives once, equal to the stitched image exactly;
// an input held as 8- or 16-bit samples gives exactly the output of the same image as floats.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

#include "model/synthetic.h"
#include "net/edsr.h"
#include "scales/engine.h"

namespace scales {
namespace {

std::shared_ptr<const Model> model_with_stats(int scale) {
  model::SyntheticSpec s;
  s.scale = scale;
  s.blocks = 1;
  s.channels = 16;  // the default components include the image-wide statistics: two passes
  return std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
}

SampleImage random_samples(int w, int h, int bits, unsigned seed) {
  std::mt19937 rng(seed);
  SampleImage s;
  s.width = w;
  s.height = h;
  s.bits = bits;
  const size_t n = static_cast<size_t>(w) * h * 3;
  if (bits == 16) {
    s.u16.resize(n);
    for (auto& v : s.u16) v = static_cast<uint16_t>(rng() & 0xffff);
  } else {
    s.u8.resize(n);
    for (auto& v : s.u8) v = static_cast<uint8_t>(rng() & 0xff);
  }
  return s;
}

// Every task of the job, handed out pass by pass; each pass's tasks run back to front on two
// engines at once, so tile rows finish out of order.
void run_shuffled(TileJob& job) {
  Engine a(EngineOptions{1, "", 0}), b(EngineOptions{1, "", 0});
  for (auto ready = job.take_ready(); !ready.empty(); ready = job.take_ready()) {
    std::reverse(ready.begin(), ready.end());
    auto run_every_other = [&](Engine& e, size_t first) {
      for (size_t i = first; i < ready.size(); i += 2) {
        const TileTask t{&job, ready[i]};
        const auto out = e.run(std::span<const TileTask>(&t, 1));
        ASSERT_TRUE(out[0].error.empty()) << out[0].error;
      }
    };
    std::thread other([&] { run_every_other(b, 1); });
    run_every_other(a, 0);
    other.join();
  }
  ASSERT_TRUE(job.done());
}

// The cores a sink received, placed into one image; counts how often each pixel was written.
struct Collected {
  Image joined;
  std::vector<int> writes;
  int calls = 0;
  std::mutex mu;
};
TileJob::TileSink collect_into(Collected& c, int w, int h) {
  c.joined.width = w;
  c.joined.height = h;
  c.joined.rgb.assign(static_cast<size_t>(w) * h * 3, -1.0f);
  c.writes.assign(static_cast<size_t>(w) * h, 0);
  return [&c](int x0, int y0, const Image& core) {
    std::lock_guard<std::mutex> lk(c.mu);  // the sink is called from several threads
    ++c.calls;
    ASSERT_EQ(core.rgb.size(), static_cast<size_t>(core.width) * core.height * 3);
    ASSERT_LE(x0 + core.width, c.joined.width);
    ASSERT_LE(y0 + core.height, c.joined.height);
    for (int y = 0; y < core.height; ++y)
      for (int x = 0; x < core.width; ++x) {
        const size_t to = static_cast<size_t>(y0 + y) * c.joined.width + x0 + x;
        ++c.writes[to];
        for (int ch = 0; ch < 3; ++ch)
          c.joined.rgb[to * 3 + ch] = core.rgb[(static_cast<size_t>(y) * core.width + x) * 3 + ch];
      }
  };
}

TEST(TileStream, CoresCoverTheOutputOnceAndEqualTheStitchedImage) {
  const auto m = model_with_stats(2);
  const SampleImage in = random_samples(70, 45, 8, 1);
  TileJob whole(m, to_image(in), 20);
  run_shuffled(whole);
  const Image want = whole.take_result();

  TileJob streamed(m, in, 20);
  ASSERT_EQ(streamed.tiles(), 12);  // 4 columns x 3 rows
  Collected got;
  streamed.stream_tiles(collect_into(got, 140, 90));
  run_shuffled(streamed);
  EXPECT_EQ(got.calls, 12);  // one call per tile
  EXPECT_EQ(std::count(got.writes.begin(), got.writes.end(), 1), static_cast<ptrdiff_t>(got.writes.size()));
  EXPECT_EQ(got.joined.rgb, want.rgb);  // the same floats, bit for bit
  const Image size_only = streamed.take_result();
  EXPECT_EQ(size_only.width, 140);
  EXPECT_EQ(size_only.height, 90);
  EXPECT_TRUE(size_only.rgb.empty());
}

TEST(TileStream, SixteenBitSamplesEqualTheirFloats) {
  const auto m = model_with_stats(3);
  const SampleImage in = random_samples(33, 29, 16, 2);
  TileJob from_floats(m, to_image(in), 16), from_samples(m, in, 16);
  run_shuffled(from_floats);
  run_shuffled(from_samples);
  EXPECT_EQ(from_samples.take_result().rgb, from_floats.take_result().rgb);
}

TEST(TileStream, OneTileIsOneCall) {
  const auto m = model_with_stats(2);
  const SampleImage in = random_samples(24, 17, 8, 3);
  TileJob job(m, in, 64);
  ASSERT_EQ(job.tiles(), 1);
  Collected got;
  job.stream_tiles(collect_into(got, 48, 34));
  run_shuffled(job);
  EXPECT_EQ(got.calls, 1);
  EXPECT_EQ(got.joined.rgb, Engine(EngineOptions{1, "", 0}).upscale(*m, to_image(in)).rgb);
}

TEST(TileStream, BadSamplesAreClearErrors) {
  const auto m = model_with_stats(2);
  SampleImage twelve = random_samples(8, 8, 16, 4);
  twelve.bits = 12;
  EXPECT_THROW(TileJob(m, twelve, 16), Error);
  SampleImage short_buffer = random_samples(8, 8, 8, 5);
  short_buffer.u8.pop_back();
  EXPECT_THROW(TileJob(m, short_buffer, 16), Error);
  EXPECT_THROW(TileJob(m, SampleImage{}, 16), Error);
}

}  // namespace
}  // namespace scales
