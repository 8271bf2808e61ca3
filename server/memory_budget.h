// The server's memory budget: every image request reserves the bytes it will hold at its peak
// (footprint.h) before its pixels are decoded, and returns them when its reply is gone. A request
// that does not fit waits here, without holding a thread, until enough is returned or its wait
// ends; one larger than the whole budget is refused at once. No gRPC or libvips types in here.
//
// Order: waiters are served oldest first, but a younger one that fits may go ahead of an older
// one that does not, so small images are not stuck behind a huge one. Once the oldest waiter has
// waited `starvation_guard`, nobody passes it any more: what is returned then accumulates for it.
//
// Threads and locks: one mutex guards the counts and the waiters (memory_budget.cc). Callbacks (`Granted`, `Refused`)
// run without the lock held, either on the caller's thread (decided at once), on the thread whose Reservation returned
// the bytes, or on the budget's timer thread (wait over, or the caller cancelled). They must be short: the server's
// post their work to the I/O pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace scales::server {

class MemoryBudget;

// Bytes held against a budget; returned when the last copy of the handle is dropped.
using Reservation = std::shared_ptr<void>;

class MemoryBudget {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Refusal { too_large, wait_over, cancelled, stopped };
  using Granted = std::function<void(Reservation)>;
  using Refused = std::function<void(Refusal, const std::string& message)>;

  // capacity 0: no budget (every acquire is granted at once, nothing is counted).
  explicit MemoryBudget(size_t capacity, std::chrono::milliseconds starvation_guard = std::chrono::seconds(1));
  ~MemoryBudget();  // refuses whoever still waits (stopped)
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Reserves `bytes`: exactly one of granted / refused is called, once. A waiter is refused
  // with wait_over at `wait_until`, or cancelled soon after `cancelled()` turns true (polled
  // every 50 ms; it may be called on the timer thread).
  void acquire(size_t bytes, Clock::time_point wait_until, std::function<bool()> cancelled, Granted granted,
               Refused refused);

  size_t capacity() const;
  // Called after every change of in_use() or waiting(), with both, under the budget's lock (so
  // in order): it must be quick and must not call the budget (the server sets its gauges).
  // Set it before the first acquire.
  void on_change(std::function<void(size_t in_use, size_t waiting)> f);
  size_t in_use() const;
  size_t waiting() const;  // requests waiting for bytes

 private:
  // The counts and the waiters, shared with every Reservation (a handle may outlive the budget
  // object at shutdown; its bytes then go back to a Core nobody waits on).
  struct Core;
  void timer_loop();

  std::shared_ptr<Core> core_;
  std::thread timer_;
};

// "4G", "512M", "1536m", "2GiB", "1000000" (bytes); throws std::invalid_argument naming the value.
size_t parse_bytes(const std::string& text);
// The default budget: 70% of the cgroup (container) memory limit when there is one, else of the
// machine's physical memory. `limit_source` says which ("cgroup v2 memory.max", ...).
size_t default_memory_budget(std::string* limit_source = nullptr);

}  // namespace scales::server
