// The workspace's reuse rules (runtime/workspace.h): a pass of the same shape again takes only
// idle blocks; a small miss does not evict the large blocks; a new size evicts the oldest idle
// blocks only as far as the bound needs; idle memory never passes the bound.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/workspace.h"

namespace scales::runtime {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// One "pass": maps of these sizes (MiB) acquired in order, all released at the end.
void pass(Workspace& ws, const std::vector<size_t>& mib) {
  std::vector<Workspace::Buffer> held;
  for (size_t m : mib) {
    held.push_back(ws.acquire(m * kMiB / sizeof(float)));
    held.back().data()[0] = 1.0f;  // the memory is usable
  }
}

TEST(Workspace, ARepeatedPassAllocatesNothingNew) {
  Workspace ws(512 * kMiB);
  const std::vector<size_t> shape = {1, 16, 16, 64, 16, 256, 64, 12};  // an x4 EDSR pass's maps
  pass(ws, shape);
  const size_t idle = ws.idle_bytes();
  EXPECT_GE(idle, 445 * kMiB);
  for (int i = 0; i < 3; ++i) {
    pass(ws, shape);
    EXPECT_EQ(ws.idle_bytes(), idle) << "pass " << i << " allocated or freed blocks";
  }
  EXPECT_EQ(ws.live_bytes(), 0u);
}

TEST(Workspace, ASmallMissKeepsTheLargeBlocks) {
  Workspace ws(512 * kMiB);
  pass(ws, {256, 64});
  const size_t idle = ws.idle_bytes();
  pass(ws, {1});  // fits no idle block within twice its size: a new one, the large ones stay
  EXPECT_GE(ws.idle_bytes(), idle + kMiB);
}

TEST(Workspace, ANewSizeEvictsTheOldestIdleBlocksOnlyAsFarAsTheBound) {
  Workspace ws(300 * kMiB);
  pass(ws, {100});
  pass(ws, {120});  // 100 idle + 120 live = 220: under the bound, both kept
  EXPECT_GE(ws.idle_bytes(), 220 * kMiB);
  {
    auto big = ws.acquire(250 * kMiB / sizeof(float));  // 250 live + 220 idle: over; the 100 goes first
    EXPECT_LE(ws.idle_bytes() + ws.live_bytes(), 300 * kMiB + 250 * kMiB);
    EXPECT_LT(ws.idle_bytes(), 220 * kMiB);
  }
  EXPECT_LE(ws.idle_bytes(), 300 * kMiB);
}

TEST(Workspace, IdleMemoryStaysUnderTheBound) {
  Workspace ws(64 * kMiB);
  pass(ws, {40, 40, 40});
  EXPECT_LE(ws.idle_bytes(), 64 * kMiB);
  EXPECT_EQ(ws.live_bytes(), 0u);
}

}  // namespace
}  // namespace scales::runtime
