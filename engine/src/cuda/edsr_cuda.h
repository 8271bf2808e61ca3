// SCALES-EDSR (and its FP twin) resident on one GPU: weights uploaded once, a batch of equally
// sized tiles per forward(), the same function as net/edsr.cc (docs/engine.md: CUDA backend).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <vector>

#include "cuda/device_array.h"
#include "cuda/device_pool.h"
#include "model/model_file.h"
#include "net/network.h"

namespace scales::cuda {

enum class BconvKernel { ref, bmma };  // reference conv + epilogue, or the fused tensor-core kernel

class CudaEdsr {
 public:
  CudaEdsr(const model::EdsrWeights& w, BconvKernel kernel);
  // tiles: one size; plans as Network::forward's (collect items return an empty image).
  std::vector<Image> forward(const std::vector<const Image*>& tiles, const std::vector<net::StatsPlan>& plans,
                             DevicePool& pool, cublasHandle_t blas, cudaStream_t st) const;
  size_t weight_bytes() const { return weight_bytes_; }

 private:
  struct Conv {  // FP conv3x3 (out, in, 3, 3) + bias
    int out = 0, in = 0;
    DeviceArray<float> weight, bias;
  };
  struct Layer {        // one residual conv of the body
    model::ResConv rc;  // host copy: channel factors from image statistics are made on the host
    bool binary = true;
    DeviceArray<uint64_t> bits, chunks;  // (C, 3, 3, words); (kchunks, C, 2)
    DeviceArray<int> popc_w;
    DeviceArray<float> gk, shift, spatial_w, fc1_w, fc1_b, fc2_w, fc2_b, prelu;
    float spatial_b = 0;
    int hidden = 0;
    Conv fp;  // FP twin
  };
  Conv upload(const model::FpConv& c);
  DevicePool::Buffer conv(const Conv& c, const float* x, int n, int h, int w, DevicePool& pool, cublasHandle_t blas,
                          cudaStream_t st) const;

  ModelInfo info_;
  int words_ = 0;
  float rgb_mean_[3] = {0, 0, 0};
  std::vector<int> up_factor_;
  BconvKernel kernel_;
  Conv head_, tail_;
  std::vector<Conv> up_;
  std::vector<Layer> body_;
  size_t weight_bytes_ = 0;
};

}  // namespace scales::cuda
