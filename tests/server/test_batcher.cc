// The batch-formation policy with a fake clock.
#include <gtest/gtest.h>

#include "scheduler/batcher.h"

namespace scales::server {
namespace {

using std::chrono::microseconds;
const SchedClock::time_point T0{};  // the fake clock's zero

WaitingRequest req(uint64_t id, const std::string& key, int tiles, microseconds since, size_t limit = 0) {
  WaitingRequest r{id, key, {}, T0 + since, limit};
  for (int t = 0; t < tiles; ++t) r.tiles.push_back({id, t, T0 + since});
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

TEST(Batcher, SmallRequestsShareBatchesWithAHugeOne) {
  // A 100-tile request arrived first; two 1-tile requests after it get into the first batch.
  std::vector<WaitingRequest> w = {req(1, "m", 100, microseconds(0)), req(2, "m", 1, microseconds(10)),
                                   req(3, "m", 1, microseconds(20))};
  const auto d = next_batch(w, T0 + microseconds(30), {4, microseconds(2000)});
  ASSERT_EQ(d.batch.size(), 4u);
  std::vector<uint64_t> order;
  for (const auto& t : d.batch) order.push_back(t.request);
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2, 3, 1}));
  ASSERT_EQ(w.size(), 1u);  // the small ones are gone
  EXPECT_EQ(w[0].tiles.size(), 98u);
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
  const BatchPolicy p{4, microseconds(0)};
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
