// The memory budget (server/memory_budget.h): grants, waits, refusals and its order, with real
// threads (the timer thread expires waits and notices cancellation).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "memory_budget.h"

namespace scales::server {
namespace {

using namespace std::chrono_literals;
using Clock = MemoryBudget::Clock;

// What became of one acquire: granted (with its reservation) or refused (with why and the message).
struct Ticket {
  std::mutex mu;
  std::condition_variable cv;
  Reservation held;
  bool granted = false;
  std::optional<MemoryBudget::Refusal> refused;
  std::string message;
  int calls = 0;

  bool decided() const { return granted || refused.has_value(); }
  bool wait(std::chrono::milliseconds for_at_most = 5s) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, for_at_most, [&] { return decided(); });
  }
  void release() {
    std::lock_guard<std::mutex> lk(mu);
    held.reset();
  }
};

void acquire(
    MemoryBudget& b, size_t bytes, Ticket& t, Clock::time_point until = Clock::now() + 60s,
    std::function<bool()> cancelled = [] { return false; }) {
  b.acquire(
      bytes, until, std::move(cancelled),
      [&t](Reservation r) {
        std::lock_guard<std::mutex> lk(t.mu);
        t.held = std::move(r);
        t.granted = true;
        ++t.calls;
        t.cv.notify_all();
      },
      [&t](MemoryBudget::Refusal why, const std::string& msg) {
        std::lock_guard<std::mutex> lk(t.mu);
        t.refused = why;
        t.message = msg;
        ++t.calls;
        t.cv.notify_all();
      });
}

TEST(MemoryBudget, GrantsWhatFitsAndReturnsItWhenTheReservationIsDropped) {
  MemoryBudget b(100);
  Ticket a, c;
  acquire(b, 60, a);
  acquire(b, 40, c);
  ASSERT_TRUE(a.granted && c.granted);  // decided at once, on this thread
  EXPECT_EQ(b.in_use(), 100u);
  a.release();
  EXPECT_EQ(b.in_use(), 40u);
  c.release();
  EXPECT_EQ(b.in_use(), 0u);
}

TEST(MemoryBudget, RefusesMoreThanTheWholeBudgetAtOnceNamingBothSizes) {
  MemoryBudget b(100 << 20);
  Ticket t;
  acquire(b, 101 << 20, t);
  ASSERT_TRUE(t.refused.has_value());
  EXPECT_EQ(*t.refused, MemoryBudget::Refusal::too_large);
  EXPECT_NE(t.message.find("101 MiB"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("100 MiB"), std::string::npos) << t.message;
  EXPECT_EQ(b.in_use(), 0u);
  EXPECT_EQ(b.waiting(), 0u);
}

TEST(MemoryBudget, AWaiterIsGrantedWhenMemoryComesBack) {
  MemoryBudget b(100);
  Ticket big, next;
  acquire(b, 70, big);
  acquire(b, 50, next);
  ASSERT_TRUE(big.granted);
  EXPECT_FALSE(next.decided());
  EXPECT_EQ(b.waiting(), 1u);
  big.release();  // the grant runs on this thread, inside the release
  ASSERT_TRUE(next.wait());
  EXPECT_TRUE(next.granted);
  EXPECT_EQ(b.in_use(), 50u);
  EXPECT_EQ(b.waiting(), 0u);
  EXPECT_EQ(next.calls, 1);
}

TEST(MemoryBudget, ASmallRequestPassesALargeWaiterThatHasNotWaitedLong) {
  MemoryBudget b(100, 10s);
  Ticket held, large, small;
  acquire(b, 60, held);
  acquire(b, 80, large);  // waits: 60 + 80 > 100
  acquire(b, 30, small);  // fits beside the 60: goes ahead
  EXPECT_FALSE(large.decided());
  EXPECT_TRUE(small.granted);
  held.release();
  small.release();
  ASSERT_TRUE(large.wait());
  EXPECT_TRUE(large.granted);
}

TEST(MemoryBudget, NobodyPassesAWaiterThatIsStarving) {
  MemoryBudget b(100, 0ms);  // every waiter starves at once
  Ticket held, large, small;
  acquire(b, 60, held);
  acquire(b, 80, large);
  acquire(b, 30, small);  // would fit, but the oldest waiter is owed the memory first
  EXPECT_FALSE(large.decided());
  EXPECT_FALSE(small.decided());
  held.release();  // 0 in use: the large one goes, then the small one waits for it
  ASSERT_TRUE(large.wait());
  EXPECT_TRUE(large.granted);
  EXPECT_FALSE(small.decided());
  large.release();
  ASSERT_TRUE(small.wait());
  EXPECT_TRUE(small.granted);
}

TEST(MemoryBudget, AWaitEndsWithWaitOverAndFreesItsPlace) {
  MemoryBudget b(100);
  Ticket held, late;
  acquire(b, 90, held);
  const auto t0 = Clock::now();
  acquire(b, 20, late, t0 + 100ms);
  ASSERT_TRUE(late.wait());
  EXPECT_GE(Clock::now() - t0, 100ms);
  ASSERT_TRUE(late.refused.has_value());
  EXPECT_EQ(*late.refused, MemoryBudget::Refusal::wait_over);
  EXPECT_NE(late.message.find("retry later"), std::string::npos) << late.message;
  EXPECT_EQ(b.waiting(), 0u);
  EXPECT_EQ(b.in_use(), 90u);
}

TEST(MemoryBudget, ACancelledWaiterIsRefusedSoon) {
  MemoryBudget b(100);
  Ticket held, gone;
  std::atomic<bool> cancel{false};
  acquire(b, 100, held);
  acquire(b, 10, gone, Clock::now() + 60s, [&] { return cancel.load(); });
  EXPECT_FALSE(gone.wait(100ms));
  cancel = true;
  ASSERT_TRUE(gone.wait(2s));
  ASSERT_TRUE(gone.refused.has_value());
  EXPECT_EQ(*gone.refused, MemoryBudget::Refusal::cancelled);
  EXPECT_EQ(b.waiting(), 0u);
}

TEST(MemoryBudget, StoppingRefusesTheWaiters) {
  Ticket held, waiting;
  {
    MemoryBudget b(100);
    acquire(b, 100, held);
    acquire(b, 1, waiting);
  }
  ASSERT_TRUE(waiting.refused.has_value());
  EXPECT_EQ(*waiting.refused, MemoryBudget::Refusal::stopped);
  held.release();  // a reservation outliving its budget returns its bytes harmlessly
}

TEST(MemoryBudget, ManyThreadsNeverHoldMoreThanTheCapacity) {
  constexpr size_t kCapacity = 1000;
  MemoryBudget b(kCapacity, 5ms);
  std::atomic<size_t> held{0}, peak{0};
  std::atomic<int> done{0};
  constexpr int kRequests = 400;
  std::vector<std::unique_ptr<Ticket>> tickets;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int k = i; k < kRequests; k += 4) {
        const size_t bytes = 50 + static_cast<size_t>(k * 37 % 400);
        b.acquire(
            bytes, Clock::now() + 30s, [] { return false; },
            [&, bytes](Reservation r) {
              const size_t now = held.fetch_add(bytes) + bytes;
              size_t p = peak.load();
              while (now > p && !peak.compare_exchange_weak(p, now)) {
              }
              // Hold it briefly on another thread, then give it back.
              std::thread([&, bytes, r = std::move(r)]() mutable {
                std::this_thread::sleep_for(200us);
                held.fetch_sub(bytes);
                r.reset();
                ++done;
              }).detach();
            },
            [&](MemoryBudget::Refusal, const std::string& msg) { ADD_FAILURE() << msg; });
      }
    });
  for (auto& t : threads) t.join();
  const auto deadline = Clock::now() + 20s;
  while (done < kRequests && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(done.load(), kRequests);
  EXPECT_LE(peak.load(), kCapacity);
  EXPECT_EQ(b.in_use(), 0u);
}

TEST(MemoryBudget, ReportsEveryChangeToItsObserver) {
  MemoryBudget b(100);
  std::vector<std::pair<size_t, size_t>> seen;  // (in use, waiting), under the budget's lock
  b.on_change([&](size_t in_use, size_t waiting) { seen.emplace_back(in_use, waiting); });
  Ticket a, c;
  acquire(b, 80, a);
  acquire(b, 30, c);  // waits
  a.release();        // c granted
  ASSERT_TRUE(c.wait());
  c.release();
  const std::vector<std::pair<size_t, size_t>> want = {{80, 0}, {80, 1}, {30, 0}, {0, 0}};
  EXPECT_EQ(seen, want);
}

TEST(MemoryBudget, ParsesSizes) {
  EXPECT_EQ(parse_bytes("4G"), size_t{4} << 30);
  EXPECT_EQ(parse_bytes("512M"), size_t{512} << 20);
  EXPECT_EQ(parse_bytes("2GiB"), size_t{2} << 30);
  EXPECT_EQ(parse_bytes("1536mb"), size_t{1536} << 20);
  EXPECT_EQ(parse_bytes("1000000"), 1000000u);
  EXPECT_EQ(parse_bytes("0"), 0u);
  EXPECT_THROW(parse_bytes("lots"), std::invalid_argument);
  EXPECT_THROW(parse_bytes("4X"), std::invalid_argument);
  EXPECT_THROW(parse_bytes("99999999999T"), std::invalid_argument);
}

TEST(MemoryBudget, DefaultIsAFractionOfALimit) {
  std::string source;
  const size_t d = default_memory_budget(&source);
  EXPECT_GT(d, size_t{64} << 20);
  EXPECT_FALSE(source.empty());
}

}  // namespace
}  // namespace scales::server
