// Streaming a tile job: rows leave in order, each once, and equal the stitched image exactly;
// an input held as 8- or 16-bit samples gives exactly the output of the same image as floats.
#include <gtest/gtest.h>

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

// The rows a sink received, checked to be contiguous from the top and joined.
struct Collected {
  Image joined;
  int calls = 0;
};
TileJob::RowSink collect_into(Collected& c) {
  return [&c](int y0, Image rows) {
    EXPECT_EQ(y0, c.joined.height) << "rows out of order or repeated";
    if (c.calls++ == 0) c.joined.width = rows.width;
    EXPECT_EQ(rows.width, c.joined.width);
    EXPECT_EQ(rows.rgb.size(), static_cast<size_t>(rows.width) * rows.height * 3);
    c.joined.height += rows.height;
    c.joined.rgb.insert(c.joined.rgb.end(), rows.rgb.begin(), rows.rgb.end());
  };
}

TEST(TileStream, RowsArriveInOrderAndEqualTheStitchedImage) {
  const auto m = model_with_stats(2);
  const SampleImage in = random_samples(70, 45, 8, 1);
  TileJob whole(m, to_image(in), 20);
  run_shuffled(whole);
  const Image want = whole.take_result();

  TileJob streamed(m, in, 20);
  ASSERT_EQ(streamed.tiles(), 12);  // 4 columns x 3 rows
  Collected got;
  streamed.stream_rows(collect_into(got));
  run_shuffled(streamed);
  EXPECT_EQ(got.calls, 3);  // one call per tile row
  ASSERT_EQ(got.joined.height, want.height);
  ASSERT_EQ(got.joined.width, want.width);
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
  job.stream_rows(collect_into(got));
  run_shuffled(job);
  EXPECT_EQ(got.calls, 1);
  EXPECT_EQ(got.joined.height, 34);
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
