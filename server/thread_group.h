// The server's one thread-pool type: a named group of threads, each running its owner's loop
// until the owner stops them. The I/O pool ("scales-io": decode and encode jobs) and the
// scheduler's engine workers ("scales-engine": one Engine each, taking tile batches) are both
// ThreadGroups; the engine's own data-parallel pool (runtime::ThreadPool, on OpenMP's team,
// "scales-omp") is a different thing, a fork-join parallel_for inside one forward pass.
//
// The loop's wait and its stop flag belong to the owner (they live under the owner's lock);
// stop() sets the flag under that lock, wakes every waiter, and joins.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace scales::server {

class ThreadGroup {
 public:
  explicit ThreadGroup(std::string name) : name_(std::move(name)) {}
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;
  ~ThreadGroup() { join(); }  // owners stop() first; this only guards against a leak

  // One more thread running `loop`, named after the group (as top and gdb show it, 15 chars).
  void spawn(std::function<void()> loop) {
    threads_.emplace_back(std::move(loop));
    pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
  }
  void stop(std::mutex& mu, std::condition_variable& cv, bool& stopping) {
    {
      std::lock_guard<std::mutex> lk(mu);
      stopping = true;
    }
    cv.notify_all();
    join();
  }
  size_t size() const { return threads_.size(); }
  const std::string& name() const { return name_; }

 private:
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }
  const std::string name_;
  std::vector<std::thread> threads_;
};

}  // namespace scales::server
