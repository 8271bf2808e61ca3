// The ops the CUDA backend runs (net/op.h), each over the whole batch in every launch (the batch
// is the outer dimension of each map), on one stream. The launchers are in cuda/kernels.h.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backend/batch.h"
#include "cuda/device_pool.h"
#include "cuda/op_weights.h"

namespace scales::cuda {

// A tensor's device copy: the batch's n maps of h x w x c floats, one after another.
struct CudaTensor : backend::DeviceTensor {
  DevicePool::Buffer buf;
};

struct Context {
  DevicePool& pool;
  cublasHandle_t blas;
  cudaStream_t st;
};

float* device_data(const backend::Tensor& t);
// Gives t a fresh device copy of n maps of h x w x c (uninitialised); drops its host copy.
void make_device(backend::Tensor& t, int n, int h, int w, int c, Context& cx);
// Host -> device (t's host maps to a new device copy) and device -> host (into fresh host maps).
void upload(backend::Batch& b, backend::Tensor& t, Context& cx);
void download(backend::Batch& b, backend::Tensor& t, Context& cx);

void input(const net::op::Input& p, backend::Batch& b, backend::Tensor& y, Context& cx);  // p.align == 1
void conv(const DeviceConv& w, backend::Batch& b, const backend::Tensor& x, backend::Tensor& y, Context& cx);
void conv_shuffle(const DeviceConv& w, int r, backend::Batch& b, const backend::Tensor& x, backend::Tensor& y,
                  Context& cx);
void conv_residual(const DeviceOp& w, backend::Batch& b, backend::Tensor& x, Context& cx);
void binary_residual(const net::op::BinaryResidual& p, const DeviceOp& w, int stats_slots, backend::Batch& b,
                     backend::Tensor& x, Context& cx);
void add(backend::Batch& b, const backend::Tensor& x, backend::Tensor& y, Context& cx);
void copy(backend::Batch& b, const backend::Tensor& x, backend::Tensor& y, Context& cx);
void output(const net::op::Output& p, backend::Batch& b, const backend::Tensor& x, Context& cx);

}  // namespace scales::cuda
