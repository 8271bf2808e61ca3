// The batch-formation policy with a fake clock.
#include <gtest/gtest.h>

#include "scheduler/batcher.h"

namespace scales::server {
namespace {

using std::chrono::microseconds;
const SchedClock::time_point T0{};  // the fake clock's zero

// A request whose whole size is its tiles at cost 1 (set size by hand where a test needs otherwise).
WaitingRequest req(uint64_t id, const std::string& key, int tiles, microseconds since, size_t limit = 0) {
  WaitingRequest r{id, key, {}, T0 + since, limit};
  for (int t = 0; t < tiles; ++t) r.tiles.push_back({id, t, T0 + since});
  r.in_pixels = tiles;
  return r;
}

TEST(Batcher, NothingWaitingMeansNoBatchAndNoWake) {
  std::vector<WaitingRequest> w;
  const auto d = next_batch(w, T0, {});
  EXPECT_TRUE(d.batch.empty());
  EXPECT_EQ(d.wake_at, SchedClock::time_point::max());
}

TEST(Batcher, WaitsForMoreTilesUntilTheDelayPasses) {
  std::vector<WaitingRequest> w = {req(1, "m", 3, microseconds(0))};
  const BatchPolicy p{8, microseconds(2000)};
  auto d = next_batch(w, T0 + microseconds(500), p);
  EXPECT_TRUE(d.batch.empty());
  EXPECT_EQ(d.wake_at, T0 + microseconds(2000));
  d = next_batch(w, T0 + microseconds(2000), p);
  EXPECT_EQ(d.batch.size(), 3u);
  EXPECT_TRUE(w.empty());
}

TEST(Batcher, AFullBatchGoesAtOnce) {
  std::vector<WaitingRequest> w = {req(1, "m", 10, microseconds(0))};
  const auto d = next_batch(w, T0, {4, microseconds(1000000)});
  ASSERT_EQ(d.batch.size(), 4u);
  EXPECT_EQ(d.batch[0].task, 0);
  EXPECT_EQ(d.batch[3].task, 3);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].tiles.size(), 6u);
}

TEST(Batcher, SmallRequestsGoBeforeAHugeOne) {
  // A 100-tile request arrived first; two 1-tile requests after it have less work left, so they
  // fill the batch first (the smaller of them first), then the huge one's tiles.
  std::vector<WaitingRequest> w = {req(1, "m", 100, microseconds(0)), req(2, "m", 1, microseconds(10)),
                                   req(3, "m", 1, microseconds(20))};
  w[2].tile_cost = 0.5;  // request 3's tile is the cheaper one
  BatchPolicy p{4, microseconds(2000)};
  p.quick_pixels = 10;  // the 1-tile requests are quick, the 100-tile one is not
  const auto d = next_batch(w, T0 + microseconds(30), p);
  ASSERT_EQ(d.batch.size(), 4u);
  std::vector<uint64_t> order;
  for (const auto& t : d.batch) order.push_back(t.request);
  EXPECT_EQ(order, (std::vector<uint64_t>{3, 2, 1, 1}));
  ASSERT_EQ(w.size(), 1u);  // the small ones are gone
  EXPECT_EQ(w[0].tiles.size(), 98u);
}

TEST(Batcher, WorkNotReadyYetCountsAsWorkLeft) {
  // Request 1 has 2 tiles waiting but a whole second pass to come; request 2 has 3 tiles.
  std::vector<WaitingRequest> w = {req(1, "m", 2, microseconds(0)), req(2, "m", 3, microseconds(0))};
  w[0].later = 2;
  w[0].in_pixels = 4;  // both quick; request 1 has more work left
  BatchPolicy p{1, microseconds(0)};
  p.quick_pixels = 10;
  const auto d = next_batch(w, T0, p);
  ASSERT_EQ(d.batch.size(), 1u);
  EXPECT_EQ(d.batch[0].request, 2u);
}

TEST(Batcher, LargeRequestsGoInArrivalOrder) {
  // Neither is quick: the older goes first although it has more work left.
  std::vector<WaitingRequest> w = {req(1, "m", 9, microseconds(0)), req(2, "m", 5, microseconds(10))};
  w[0].arrived = T0;
  w[1].arrived = T0 + microseconds(10);
  BatchPolicy p{1, microseconds(0)};
  p.quick_pixels = 4;
  EXPECT_EQ(next_batch(w, T0 + microseconds(20), p).batch[0].request, 1u);
}

TEST(Batcher, QuickIsDecidedOnTheInputImageNotOnItsWork) {
  // A small image split into 3 tiles whose windows overlap (cost 2 each) with a second pass to
  // come has 12 units of work left, more than quick_pixels; its input (3 pixels here) is quick,
  // so it goes before an older large request.
  std::vector<WaitingRequest> w = {req(1, "m", 100, microseconds(0)), req(2, "m", 3, microseconds(10))};
  w[0].arrived = T0;
  w[1].arrived = T0 + microseconds(10);
  w[1].tile_cost = 2;
  w[1].later = 6;
  BatchPolicy p{1, microseconds(0)};
  p.quick_pixels = 4;
  EXPECT_EQ(next_batch(w, T0 + microseconds(20), p).batch[0].request, 2u);
}

TEST(Batcher, AmongQuickRequestsTheSlackBoundsHowLongSmallerOnesPassALargerOne) {
  // quick_slack 1 ms per unit: request 1 (8 units) is due 8 ms after its arrival, request 2
  // (1 unit) 1 ms after its own. Arriving 2 ms after request 1, request 2 goes first; arriving
  // 9 ms after it, it does not.
  BatchPolicy p{1, microseconds(0)};
  p.quick_pixels = 10;
  p.quick_slack = std::chrono::milliseconds(1);
  for (auto [later_by, first] : {std::pair{2000, 2u}, std::pair{9000, 1u}}) {
    std::vector<WaitingRequest> w = {req(1, "m", 8, microseconds(0)), req(2, "m", 1, microseconds(later_by))};
    w[0].arrived = T0;
    w[1].arrived = T0 + microseconds(later_by);
    EXPECT_EQ(next_batch(w, T0 + microseconds(later_by), p).batch[0].request, first) << later_by;
  }
}

TEST(Batcher, AStarvingRequestGoesBeforeQuickOnes) {
  using std::chrono::milliseconds;
  // A large request arrived at 0; quick ones keep arriving. Before the guard (4 s) they pass it;
  // after it, it goes first.
  std::vector<WaitingRequest> w = {req(1, "m", 100, microseconds(0)), req(2, "m", 1, microseconds(3'000'000))};
  w[0].arrived = T0;
  w[1].arrived = T0 + microseconds(3'000'000);
  BatchPolicy p{1, microseconds(0), milliseconds(4000), 10};
  auto d = next_batch(w, T0 + microseconds(3'000'000), p);
  EXPECT_EQ(d.batch[0].request, 2u);
  w.push_back(req(3, "m", 1, microseconds(4'500'000)));
  w.back().arrived = T0 + microseconds(4'500'000);
  d = next_batch(w, T0 + microseconds(4'500'000), p);
  EXPECT_EQ(d.batch[0].request, 1u);  // waited 4.5 s: starving
  // Among starving requests the oldest goes first, whatever its size.
  w.push_back(req(4, "m", 1, microseconds(0)));
  w.back().arrived = T0 + microseconds(1);
  d = next_batch(w, T0 + microseconds(4'600'000), p);
  EXPECT_EQ(d.batch[0].request, 1u);
}

TEST(Batcher, ACpuBatchStopsAtItsCostCap) {
  // Tiles of cost 0.4 and a cap of 1.0: two tiles per batch; a tile above the cap goes alone.
  std::vector<WaitingRequest> w = {req(1, "cpu", 5, microseconds(0))};
  w[0].tile_cost = 0.4;
  BatchPolicy p{8, microseconds(0)};
  p.max_batch_cost = 1.0;
  EXPECT_EQ(next_batch(w, T0, p).batch.size(), 2u);
  w[0].tile_cost = 3;
  EXPECT_EQ(next_batch(w, T0, p).batch.size(), 1u);
  // A device key (an engine limit) is bounded by its limit, not by the cost cap.
  std::vector<WaitingRequest> dev = {req(2, "dev", 5, microseconds(0), 4)};
  dev[0].tile_cost = 3;
  EXPECT_EQ(next_batch(dev, T0, p).batch.size(), 4u);
}

TEST(Batcher, OldestModelFirstAndBatchesNeverMixModels) {
  std::vector<WaitingRequest> w = {req(1, "x4", 2, microseconds(50)), req(2, "x2", 2, microseconds(0)),
                                   req(3, "x4", 2, microseconds(60))};
  const BatchPolicy p{8, microseconds(100)};
  auto d = next_batch(w, T0 + microseconds(100), p);
  EXPECT_EQ(d.key, "x2");
  ASSERT_EQ(d.batch.size(), 2u);
  for (const auto& t : d.batch) EXPECT_EQ(t.request, 2u);
  d = next_batch(w, T0 + microseconds(100), p);  // x4's oldest waited 50 us < 100: not yet
  EXPECT_TRUE(d.batch.empty());
  EXPECT_EQ(d.wake_at, T0 + microseconds(150));
  d = next_batch(w, T0 + microseconds(150), p);
  EXPECT_EQ(d.key, "x4");
  EXPECT_EQ(d.batch.size(), 4u);
  EXPECT_TRUE(w.empty());
}

TEST(Batcher, TheEnginesBatchLimitCapsTheBatch) {
  // A device holds 3 tiles of this key per batch: 7 waiting tiles go as 3, 3 and 1.
  std::vector<WaitingRequest> w = {req(1, "dev", 4, microseconds(0), 3), req(2, "dev", 3, microseconds(0), 3)};
  const BatchPolicy p{8, microseconds(0)};
  EXPECT_EQ(next_batch(w, T0, p).batch.size(), 3u);
  EXPECT_EQ(next_batch(w, T0, p).batch.size(), 3u);
  EXPECT_EQ(next_batch(w, T0, p).batch.size(), 1u);
  EXPECT_TRUE(w.empty());
}

TEST(Batcher, ANewRequestOfAnotherModelIsServedNext) {
  // A huge x4 request was served at t=100; an x2 request arriving at t=150 ranks before it
  // (arrival_rank) and goes next, across models; then the rotation goes on.
  std::vector<WaitingRequest> w = {req(1, "x4", 50, microseconds(0))};
  BatchPolicy p{4, microseconds(0)};
  p.quick_pixels = 5;  // the x2 request is quick
  auto d = next_batch(w, T0 + microseconds(100), p);
  EXPECT_EQ(d.key, "x4");
  w.push_back(req(2, "x2", 1, microseconds(150)));
  w.back().last_served = arrival_rank(w, T0 + microseconds(150));
  EXPECT_LT(w.back().last_served, w.front().last_served);
  d = next_batch(w, T0 + microseconds(160), p);
  EXPECT_EQ(d.key, "x2");
  ASSERT_EQ(d.batch.size(), 1u);
  d = next_batch(w, T0 + microseconds(170), p);
  EXPECT_EQ(d.key, "x4");
}

}  // namespace
}  // namespace scales::server
