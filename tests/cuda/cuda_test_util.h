// Shared by the CUDA tests: skip without a device, device buffers from host vectors and back.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cuda/check.h"

namespace scales::testing {

inline bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

#define SCALES_REQUIRE_GPU() \
  if (!::scales::testing::have_gpu()) GTEST_SKIP() << "no CUDA device on this machine"

template <typename T>
struct Dev {  // a device copy of a host vector; poisoned (0xFF bytes) when made from a size
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(const std::vector<T>& h) : n(h.size()) {
    SCALES_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(1, n) * sizeof(T)));
    SCALES_CUDA_CHECK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  explicit Dev(size_t count) : n(count) {
    SCALES_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(1, n) * sizeof(T)));
    SCALES_CUDA_CHECK(cudaMemset(p, 0xFF, n * sizeof(T)));
  }
  ~Dev() { cudaFree(p); }
  Dev(const Dev&) = delete;
  std::vector<T> get() const {
    SCALES_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> h(n);
    SCALES_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

inline bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

}  // namespace scales::testing
