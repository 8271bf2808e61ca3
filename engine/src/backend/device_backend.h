// The device backend interface: a second place, beside the CPU path (the Network classes), where
// a whole network runs on a batch of tiles. The CUDA backend (engine/src/cuda/) implements it;
// builds without CUDA get a factory that explains why there is none (backend/no_cuda.cc).
//
// The Engine holds at most one backend and sends it the tiles of the networks it supports; the
// rest (SwinIR, for now) run on the CPU path. Everything the CPU path's forward() promises holds
// here too: same ImageStats plans, same output size, same function up to float rounding.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/network.h"
#include "scales/engine.h"

namespace scales::backend {

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  virtual std::string name() const = 0;  // e.g. "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
  virtual bool supports(const net::Network& net) const = 0;
  // Upscales tiles of one size (and one network) in one batch. plans[i] is tile i's statistics
  // plan (collect mode returns an empty image for that tile, as Network::forward does).
  virtual std::vector<Image> forward(const net::Network& net, const std::vector<const Image*>& tiles,
                                     const std::vector<net::StatsPlan>& plans) = 0;
  virtual DeviceStats stats() const = 0;
};

// Whether this build has the CUDA backend at all.
bool cuda_built();
// The CUDA backend on device `device`; throws Error naming the reason when this build has no
// CUDA backend or no usable device is found.
std::unique_ptr<DeviceBackend> make_cuda_backend(int device = 0);

}  // namespace scales::backend
