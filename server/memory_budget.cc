#include "memory_budget.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <list>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace scales::server {

namespace {
std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }
}  // namespace

struct MemoryBudget::Core : std::enable_shared_from_this<Core> {
  struct Waiter {
    size_t bytes;
    Clock::time_point since, until;
    std::function<bool()> cancelled;
    Granted granted;
    Refused refused;
  };
  // A waiter leaving the queue, with what to tell it; run after the lock is dropped.
  struct Outcome {
    Waiter w;
    Reservation r;  // empty: refused
    Refusal why = Refusal::stopped;
    std::string message;
  };

  Core(size_t capacity, std::chrono::milliseconds guard) : capacity(capacity), guard(guard) {}

  const size_t capacity;
  const std::chrono::milliseconds guard;
  std::mutex mu;
  std::condition_variable cv;  // wakes the timer thread: a new waiter, or stopping
  size_t in_use = 0;
  std::list<Waiter> waiters;  // oldest first
  bool stopping = false;
  std::function<void(size_t, size_t)> changed;  // on_change's observer

  void notify() {  // mu held
    if (changed) changed(in_use, waiters.size());
  }

  // Counts `bytes` in use (mu held); the handle gives them back when its last copy is dropped.
  Reservation hold(size_t bytes) {
    in_use += bytes;
    // The handle points at the Core (never null, so it tests true); the deleter does the work.
    return Reservation(static_cast<void*>(this), [core = shared_from_this(), bytes](void*) { core->release(bytes); });
  }

  void release(size_t bytes) {
    std::vector<Outcome> out;
    {
      std::lock_guard<std::mutex> lk(mu);
      in_use -= bytes;
      grant(Clock::now(), out);
      notify();
    }
    deliver(out);
  }

  // Moves the waiters that may go now into `out` (mu held). Oldest first; a younger waiter may
  // pass one that does not fit, unless the oldest has waited past the guard.
  void grant(Clock::time_point now, std::vector<Outcome>& out) {
    bool starving = false;
    for (auto it = waiters.begin(); it != waiters.end();) {
      if (starving) break;
      if (in_use + it->bytes <= capacity) {
        Reservation r = hold(it->bytes);
        out.push_back({std::move(*it), std::move(r), Refusal::stopped, {}});
        it = waiters.erase(it);
        continue;
      }
      starving = it == waiters.begin() && now - it->since >= guard;
      ++it;
    }
  }

  static void deliver(std::vector<Outcome>& out) {
    for (auto& o : out) {
      if (o.r)
        o.w.granted(std::move(o.r));
      else
        o.w.refused(o.why, o.message);
    }
  }
};

MemoryBudget::MemoryBudget(size_t capacity, std::chrono::milliseconds starvation_guard)
    : core_(std::make_shared<Core>(capacity, starvation_guard)) {
  if (capacity > 0) timer_ = std::thread([this] { timer_loop(); });
}

MemoryBudget::~MemoryBudget() {
  std::vector<Core::Outcome> out;
  {
    std::lock_guard<std::mutex> lk(core_->mu);
    core_->stopping = true;
    for (auto& w : core_->waiters) out.push_back({std::move(w), {}, Refusal::stopped, "the server is stopping"});
    core_->waiters.clear();
  }
  core_->cv.notify_all();
  if (timer_.joinable()) timer_.join();
  Core::deliver(out);
}

size_t MemoryBudget::capacity() const { return core_->capacity; }

void MemoryBudget::on_change(std::function<void(size_t, size_t)> f) {
  std::lock_guard<std::mutex> lk(core_->mu);
  core_->changed = std::move(f);
}

size_t MemoryBudget::in_use() const {
  std::lock_guard<std::mutex> lk(core_->mu);
  return core_->in_use;
}

size_t MemoryBudget::waiting() const {
  std::lock_guard<std::mutex> lk(core_->mu);
  return core_->waiters.size();
}

void MemoryBudget::acquire(size_t bytes, Clock::time_point wait_until, std::function<bool()> cancelled, Granted granted,
                           Refused refused) {
  Core& c = *core_;
  if (c.capacity == 0) return granted(Reservation(static_cast<void*>(&c), [](void*) {}));
  if (bytes > c.capacity)
    return refused(Refusal::too_large, "this image needs " + mib(bytes) +
                                           " of memory to upscale, more than the server's whole budget of " +
                                           mib(c.capacity) + " (--memory-budget); send a smaller image");
  std::vector<Core::Outcome> out;
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lk(c.mu);
    stopping = c.stopping;
    if (!stopping) {
      // Through grant()'s rule like every waiter: a newcomer that fits goes at once unless the
      // oldest waiter is starving.
      const auto now = Clock::now();
      c.waiters.push_back({bytes, now, wait_until, std::move(cancelled), std::move(granted), std::move(refused)});
      c.grant(now, out);
      c.notify();
    }
  }
  if (stopping) return refused(Refusal::stopped, "the server is stopping");
  if (out.empty())
    c.cv.notify_all();  // the timer thread now watches this waiter's wait and cancellation
  else
    Core::deliver(out);
}

void MemoryBudget::timer_loop() {
  Core& c = *core_;
  std::unique_lock<std::mutex> lk(c.mu);
  while (!c.stopping) {
    const auto now = Clock::now();
    std::vector<Core::Outcome> out;
    for (auto it = c.waiters.begin(); it != c.waiters.end();) {
      if (now >= it->until) {
        out.push_back({std::move(*it),
                       {},
                       Refusal::wait_over,
                       "not enough memory within the wait: this image needs " + mib(it->bytes) + ", " + mib(c.in_use) +
                           " of the " + mib(c.capacity) + " budget are held by other requests; retry later"});
        it = c.waiters.erase(it);
      } else if (it->cancelled && it->cancelled()) {
        out.push_back({std::move(*it), {}, Refusal::cancelled, "cancelled while waiting for memory"});
        it = c.waiters.erase(it);
      } else {
        ++it;
      }
    }
    // A refused waiter may have been the starving oldest one: the others may go now.
    if (!out.empty()) {
      c.grant(now, out);
      c.notify();
    }
    if (!out.empty()) {
      lk.unlock();
      Core::deliver(out);
      lk.lock();
      continue;
    }
    auto wake = now + std::chrono::milliseconds(50);  // cancellation is polled
    if (c.waiters.empty()) wake = Clock::time_point::max();
    for (const auto& w : c.waiters) wake = std::min(wake, w.until);
    if (wake == Clock::time_point::max())
      c.cv.wait(lk);
    else
      c.cv.wait_until(lk, wake);
  }
}

size_t parse_bytes(const std::string& text) {
  size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &pos);
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + text + "' is not a size (e.g. 4G, 512M, 1000000)");
  }
  std::string unit = text.substr(pos);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (unit.ends_with("ib")) unit.resize(unit.size() - 2);
  if (unit.ends_with("b") && unit.size() > 1) unit.resize(unit.size() - 1);
  int shift = 0;
  if (unit.empty() || unit == "b")
    shift = 0;
  else if (unit == "k")
    shift = 10;
  else if (unit == "m")
    shift = 20;
  else if (unit == "g")
    shift = 30;
  else if (unit == "t")
    shift = 40;
  else
    throw std::invalid_argument("'" + text + "': unknown unit '" + text.substr(pos) + "' (K, M, G, T; powers of 1024)");
  if (shift > 0 && n > (~0ull >> shift)) throw std::invalid_argument("'" + text + "' is too large");
  return static_cast<size_t>(n << shift);
}

namespace {
// A cgroup memory limit file's value; 0 for "max", an absurd value (no limit) or no file.
size_t read_limit(const char* path) {
  std::ifstream f(path);
  std::string v;
  if (!(f >> v) || v == "max") return 0;
  try {
    const unsigned long long n = std::stoull(v);
    return n >= (1ull << 60) ? 0 : static_cast<size_t>(n);  // cgroup v1 writes ~2^63 for none
  } catch (const std::exception&) {
    return 0;
  }
}
}  // namespace

size_t default_memory_budget(std::string* limit_source) {
  size_t limit = read_limit("/sys/fs/cgroup/memory.max");
  std::string source = "cgroup v2 memory.max";
  if (limit == 0) {
    limit = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    source = "cgroup v1 memory.limit_in_bytes";
  }
  const size_t physical = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (limit == 0 || limit > physical) {
    limit = physical;
    source = "physical memory";
  }
  if (limit_source) *limit_source = source;
  // 70%: the rest is the fixed part (models, engine work buffers, thread stacks, gRPC, libvips'
  // caches) and the allocator's slack.
  return limit / 10 * 7;
}

}  // namespace scales::server
