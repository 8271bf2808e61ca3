// The engine's data-parallel loops over rows: parallel_for(n, fn) runs fn(i) for every i in
// [0, n) on `size()` threads and returns when all have finished.
//
// The threads are OpenMP's. oneDNN (the FP layers) runs on OpenMP too, and its team keeps
// spinning for a while after each primitive: a pool of our own threads beside it had four
// threads contending for two cores in every band of the upsampler (OpenMP's spinning workers
// were 11-13% of a 2-thread x2 pass's CPU samples). Sharing one team removes the contention.
//
// The calling thread works too, so a pool of size 1 runs inline. One loop runs at a time per pool
// (concurrent callers queue on a mutex). Each thread takes its own contiguous share of the items,
// one at a time, then helps with the others' (thread_pool.cc says why: cache locality between
// ops).
// The first exception thrown by fn is rethrown to the caller after the loop drains.
#pragma once

#include <functional>
#include <mutex>

namespace scales::runtime {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: all cores
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }
  void parallel_for(int n, const std::function<void(int)>& fn);

 private:
  int threads_;
  std::mutex call_mu_;  // one parallel_for at a time
};

}  // namespace scales::runtime
