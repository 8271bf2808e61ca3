// Device memory, pooled: feature maps of a batch are allocated from here and returned when the
// batch ends, so steady-state serving (the same tile size again and again) makes no cudaMalloc
// calls. Blocks are kept by exact size; a request that no idle block fits first frees the idle
// blocks (leftovers of another tile size), then allocates. Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>

namespace scales::cuda {

class DevicePool {
 public:
  DevicePool() = default;
  ~DevicePool();
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  class Buffer {  // owns one block until destroyed or reset
   public:
    Buffer() = default;
    Buffer(Buffer&& o) noexcept { *this = std::move(o); }
    Buffer& operator=(Buffer&& o) noexcept;
    ~Buffer() { reset(); }
    void* get() const { return ptr_; }
    template <typename T>
    T* as() const {
      return static_cast<T*>(ptr_);
    }
    size_t bytes() const { return bytes_; }
    void reset();

   private:
    friend class DevicePool;
    DevicePool* owner_ = nullptr;
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
  };

  Buffer acquire(size_t bytes);  // 256-byte aligned (cudaMalloc), uninitialised
  size_t in_use() const;         // bytes handed out
  size_t reserved() const;       // bytes allocated from the device (in use + idle)

 private:
  void give_back(void* p, size_t bytes);
  mutable std::mutex mu_;
  std::multimap<size_t, void*> idle_;
  size_t in_use_ = 0, reserved_ = 0;
};

}  // namespace scales::cuda
