#include "io_pool.h"

namespace scales::server {

IoPool::IoPool(int threads, size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < threads; ++i) threads_.spawn([this] { loop(); });
}

IoPool::~IoPool() { stop(); }

bool IoPool::submit(Job job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void IoPool::post(Job job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

size_t IoPool::queued() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size();
}

void IoPool::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();  // jobs report their own errors
  }
}

void IoPool::stop() { threads_.stop(mu_, cv_, stopping_); }

}  // namespace scales::server
