#include "workers.h"

namespace scales::server {

Workers::Workers(int workers, int threads_per_worker, size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < workers; ++i) {
    engines_.push_back(std::make_unique<Engine>(EngineOptions{threads_per_worker, "", 0}));
    threads_.emplace_back([this, e = engines_.back().get()] { loop(*e); });
  }
}

Workers::~Workers() { stop(); }

bool Workers::submit(Job job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

size_t Workers::queued() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size();
}

void Workers::loop(Engine& engine) {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job(engine);  // jobs report their own errors
  }
}

void Workers::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace scales::server
