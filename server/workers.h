// The first scheduler: a bounded FIFO of whole-image jobs run by worker threads, each owning an
// Engine (its own thread pool). Jobs are plain functions; no gRPC or protobuf types in here.
// (Tile-level batching across requests replaces the FIFO in the next step of the service issue.)
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "scales/engine.h"

namespace scales::server {

class Workers {
 public:
  using Job = std::function<void(Engine&)>;
  // workers x threads_per_worker engine threads; at most max_queue jobs wait.
  Workers(int workers, int threads_per_worker, size_t max_queue);
  ~Workers();
  // false when the queue is full (the caller answers RESOURCE_EXHAUSTED).
  bool submit(Job job);
  size_t queued() const;
  // Runs what is queued, then joins the workers.
  void stop();

 private:
  void loop(Engine& engine);
  const size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Engine>> engines_;
  std::vector<std::thread> threads_;
};

}  // namespace scales::server
