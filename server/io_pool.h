// The I/O pool: decoding requests and encoding results (libvips) on a few threads, so neither
// blocks a gRPC thread nor an engine worker. A bounded FIFO for new requests (submit) and an
// unbounded one for finishing accepted requests (post). No gRPC or protobuf types in here.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "thread_group.h"

namespace scales::server {

class IoPool {
 public:
  using Job = std::function<void()>;
  IoPool(int threads, size_t max_queue);
  ~IoPool();
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
  ThreadGroup threads_{"scales-io"};
};

}  // namespace scales::server
