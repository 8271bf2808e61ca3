// The I/O pool: decoding requests and encoding results (libvips) on a few threads, so neither
// blocks a gRPC thread nor an engine worker. A bounded FIFO for new requests (submit) and an
// unbounded one for finishing accepted requests (post). No gRPC or protobuf types in here.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace scales::server {

class Workers {
 public:
  using Job = std::function<void()>;
  Workers(int threads, size_t max_queue);
  ~Workers();
  // A new request's job; false when max_queue jobs already wait (RESOURCE_EXHAUSTED).
  bool submit(Job job);
  // Work for an accepted request (encoding its result): never refused.
  void post(Job job);
  size_t queued() const;
  // Runs what is queued, then joins the threads.
  void stop();

 private:
  void loop();
  const size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace scales::server
