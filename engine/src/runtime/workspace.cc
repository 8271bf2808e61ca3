#include "runtime/workspace.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace scales::runtime {

namespace {
constexpr size_t kHuge = size_t{2} << 20;
size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }
}  // namespace

Workspace::~Workspace() {
  for (auto& [bytes, b] : idle_) std::free(b.p);
}

Workspace::Buffer& Workspace::Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = o.owner_;
    data_ = o.data_;
    size_ = o.size_;
    bytes_ = o.bytes_;
    o.owner_ = nullptr;
    o.data_ = nullptr;
    o.size_ = o.bytes_ = 0;
  }
  return *this;
}

void Workspace::Buffer::reset() {
  if (owner_ && data_) owner_->release(data_, bytes_);
  owner_ = nullptr;
  data_ = nullptr;
  size_ = bytes_ = 0;
}

Workspace::Buffer Workspace::acquire(size_t floats) {
  Buffer b;
  b.owner_ = this;
  b.size_ = floats;
  const size_t want = round_up(floats * sizeof(float) + 1, 64);
  {
    // The smallest idle block that holds it, if it is not more than twice the size.
    std::lock_guard<std::mutex> lk(mu_);
    auto it = idle_.lower_bound(want);
    if (it != idle_.end() && it->first <= 2 * want) {
      b.data_ = it->second.p;
      b.bytes_ = it->first;
      idle_bytes_ -= it->first;
      live_bytes_ += it->first;
      idle_.erase(it);
      return b;
    }
  }
  const bool huge = want >= kHuge;
  const size_t bytes = huge ? round_up(want, kHuge) : want;
  void* p = std::aligned_alloc(huge ? kHuge : 64, bytes);
  if (!p) throw std::bad_alloc();
  if (huge) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: ignore failure
  b.data_ = static_cast<float*>(p);
  b.bytes_ = bytes;
  std::lock_guard<std::mutex> lk(mu_);
  live_bytes_ += bytes;
  // Over the bound: the idle blocks released longest ago go (the leftovers of another size).
  while (!idle_.empty() && idle_bytes_ + live_bytes_ > max_idle_) {
    auto oldest = idle_.begin();
    for (auto i = idle_.begin(); i != idle_.end(); ++i)
      if (i->second.released < oldest->second.released) oldest = i;
    std::free(oldest->second.p);
    idle_bytes_ -= oldest->first;
    idle_.erase(oldest);
  }
  return b;
}

void Workspace::release(float* p, size_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  live_bytes_ -= bytes;
  if (idle_bytes_ + bytes > max_idle_) {
    std::free(p);
    return;
  }
  idle_.emplace(bytes, Idle{p, ++clock_});
  idle_bytes_ += bytes;
}

size_t Workspace::idle_bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return idle_bytes_;
}

size_t Workspace::live_bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return live_bytes_;
}

}  // namespace scales::runtime
