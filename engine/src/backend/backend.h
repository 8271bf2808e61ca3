// The backend interface (after ggml's): a backend runs ops (net/op.h), not networks. The CPU
// backend (backend/cpu_backend.h) runs every op; a device backend (CUDA, engine/src/cuda/) runs
// the ops it supports, and the executor (backend/executor.h) runs the rest on the CPU, moving
// tensors between host and device when an op needs them on the other side.
//
// Builds without CUDA get a factory that explains why there is none (backend/no_cuda.cc).
#pragma once

#include <memory>
#include <string>

#include "backend/batch.h"
#include "net/network.h"
#include "scales/engine.h"

namespace scales::backend {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
  virtual bool supports(const net::Op& op) const = 0;
  // Runs op i of the network's program on the batch (its x tensor is on this backend) and
  // returns the index of the next op to run: i + 1, or more when the backend ran the ops after
  // it too (the CPU runs a chain of binary residual convs as one fused pass).
  virtual size_t run(const net::Network& net, size_t i, Batch& b) = 0;

  // Device backends: the batch's start and end (lock the device, time it), and the copies of
  // tensor t to the device (from its host copy) and back (into fresh host maps).
  virtual void begin(Batch&) {}
  virtual void end(Batch&) {}
  virtual void to_device(Batch&, int /*t*/) {}
  virtual void to_host(Batch&, int /*t*/) {}
  virtual DeviceStats stats() const { return {}; }
};

// Whether this build has the CUDA backend at all.
bool cuda_built();
// The CUDA backend on device `device`; throws Error naming the reason when this build has no
// CUDA backend or no usable device is found.
std::unique_ptr<Backend> make_cuda_backend(int device = 0);

}  // namespace scales::backend
