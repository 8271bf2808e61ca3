// Reusable working memory for forward passes. The feature maps of one tile are large (a 256x256
// x4 paper-size pass has a 268 MB HR map) and short-lived; allocating them fresh each call costs
// page faults and zero-filling that measured 40% of the upsampler's time. The workspace keeps
// released blocks and hands them out again, uninitialised, in 2 MiB-aligned transparent huge pages.
//
// A request takes the smallest idle block that holds it (at most twice its size), else a new
// block. Idle blocks are kept up to `max_idle_bytes`; a released block beyond that is freed.
// After a new block, idle blocks go, least recently released first, while idle plus handed-out
// memory is over `max_idle_bytes` (they are leftovers of another image or tile size), so a pass
// holds no more than its own working set or the bound, whichever is larger. (Dropping every
// idle block on any miss, as this did before, made the first small map of each pass evict the
// large ones: 0.1 s of fresh pages per x4 pass at 256x256.) Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace scales::runtime {

class Workspace {
 public:
  explicit Workspace(size_t max_idle_bytes) : max_idle_(max_idle_bytes) {}
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // A block of at least `floats` floats, returned to the workspace when destroyed.
  class Buffer {
   public:
    Buffer() = default;
    Buffer(Buffer&& o) noexcept { *this = std::move(o); }
    Buffer& operator=(Buffer&& o) noexcept;
    ~Buffer() { reset(); }
    float* data() const { return data_; }
    size_t size() const { return size_; }
    void reset();

   private:
    friend class Workspace;
    Workspace* owner_ = nullptr;
    float* data_ = nullptr;
    size_t size_ = 0, bytes_ = 0;
  };

  Buffer acquire(size_t floats);
  size_t idle_bytes() const;
  size_t live_bytes() const;  // handed out and not yet returned

 private:
  void release(float* p, size_t bytes);
  const size_t max_idle_;
  mutable std::mutex mu_;
  struct Idle {
    float* p;
    uint64_t released;  // when (a counter): the oldest goes first
  };
  std::multimap<size_t, Idle> idle_;  // capacity in bytes -> block
  size_t idle_bytes_ = 0, live_bytes_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace scales::runtime
