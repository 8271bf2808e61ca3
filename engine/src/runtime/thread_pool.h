// A fixed pool of worker threads for data-parallel loops over rows.
//
// parallel_for(n, fn) runs fn(i) for every i in [0, n) and returns when all have finished; the
// calling thread works too, so a pool of size 1 has no worker threads at all. One loop runs at a
// time per pool (concurrent callers queue on a mutex). The first exception thrown by fn is
// rethrown to the caller after the loop drains.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace scales::runtime {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: all cores
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int n, const std::function<void(int)>& fn);

 private:
  void worker_loop();
  void run_items();

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel_for at a time

  std::mutex mu_;  // guards the fields below
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int n_ = 0;
  long generation_ = 0;
  int busy_ = 0;  // workers still inside the current job
  bool stop_ = false;
  std::exception_ptr error_;
  std::atomic<int> next_{0};
};

}  // namespace scales::runtime
