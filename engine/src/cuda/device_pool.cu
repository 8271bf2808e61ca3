#include "cuda/device_pool.h"

#include "cuda/check.h"

namespace scales::cuda {

DevicePool::~DevicePool() {
  for (auto& [bytes, p] : idle_) cudaFree(p);  // no throwing from a destructor
}

DevicePool::Buffer& DevicePool::Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = o.owner_;
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.owner_ = nullptr;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

void DevicePool::Buffer::reset() {
  if (owner_ && ptr_) owner_->give_back(ptr_, bytes_);
  owner_ = nullptr;
  ptr_ = nullptr;
  bytes_ = 0;
}

DevicePool::Buffer DevicePool::acquire(size_t bytes) {
  bytes = (bytes + 255) / 256 * 256;
  if (bytes == 0) bytes = 256;
  Buffer b;
  b.owner_ = this;
  b.bytes_ = bytes;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = idle_.find(bytes);
    if (it != idle_.end()) {
      b.ptr_ = it->second;
      idle_.erase(it);
      in_use_ += bytes;
      return b;
    }
    for (auto& [sz, p] : idle_) {
      SCALES_CUDA_CHECK(cudaFree(p));
      reserved_ -= sz;
    }
    idle_.clear();
  }
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes);
  if (err != cudaSuccess)
    throw Error("CUDA: cannot allocate " + std::to_string(bytes >> 20) + " MiB of device memory (" +
                cudaGetErrorString(err) + "); use smaller tiles (--tile) or a smaller batch");
  std::lock_guard<std::mutex> lk(mu_);
  b.ptr_ = p;
  in_use_ += bytes;
  reserved_ += bytes;
  return b;
}

void DevicePool::give_back(void* p, size_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  idle_.emplace(bytes, p);
  in_use_ -= bytes;
}

size_t DevicePool::in_use() const {
  std::lock_guard<std::mutex> lk(mu_);
  return in_use_;
}

size_t DevicePool::reserved() const {
  std::lock_guard<std::mutex> lk(mu_);
  return reserved_;
}

}  // namespace scales::cuda
