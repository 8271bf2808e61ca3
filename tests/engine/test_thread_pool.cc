// runtime::ThreadPool: every item runs exactly once on up to size() threads, the first exception
// reaches the caller, concurrent callers each get all their items, and the pool shares its threads
// with oneDNN's OpenMP team (the reason it runs on OpenMP, runtime/thread_pool.h).
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/thread_pool.h"

namespace scales::runtime {
namespace {

TEST(ThreadPool, RunsEveryItemOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](int i) { hits[i].fetch_add(1); });
      for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "threads=" << threads << " n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, UsesUpToItsSizeInThreads) {
  ThreadPool pool(2);
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> inside{0}, most{0};
  pool.parallel_for(64, [&](int) {
    const int now = inside.fetch_add(1) + 1;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    inside.fetch_sub(1);
    std::lock_guard<std::mutex> lk(mu);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_LE(most.load(), 2);
  EXPECT_LE(ids.size(), 2u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id())) << "the calling thread works too";
}

TEST(ThreadPool, RethrowsTheFirstErrorAndStaysUsable) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.parallel_for(100,
                                 [&](int i) {
                                   ran.fetch_add(1);
                                   if (i == 3) throw std::runtime_error("item 3 failed");
                                   // Slow items: skipping must win against another thread
                                   // running through the rest while the throw unwinds.
                                   std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                 }),
               std::runtime_error);
  EXPECT_LT(ran.load(), 100) << "items after the error are skipped";
  std::atomic<int> after{0};
  pool.parallel_for(10, [&](int) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

TEST(ThreadPool, ConcurrentCallersEachGetAllTheirItems) {
  ThreadPool pool(2);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int k = 0; k < 20; ++k) pool.parallel_for(50, [&](int i) { total.fetch_add(i); });
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(total.load(), 4L * 20 * (49 * 50 / 2));
}

TEST(ThreadPool, SharesOpenMPsThreads) {
  // The workers are OpenMP threads: the same ones an OpenMP region (oneDNN's) of the same caller
  // gets, so the two never oversubscribe the cores.
  ThreadPool pool(2);
  std::mutex mu;
  std::set<int> pool_nums;
  pool.parallel_for(16, [&](int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lk(mu);
    pool_nums.insert(omp_get_thread_num());
    EXPECT_TRUE(omp_in_parallel());
  });
  EXPECT_TRUE(pool_nums.count(0));
  EXPECT_LE(pool_nums.size(), 2u);
}

}  // namespace
}  // namespace scales::runtime
