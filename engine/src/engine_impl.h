// Engine's private state, shared by engine.cc and the tile driver (tile/driver.cc).
#pragma once

#include <memory>
#include <mutex>

#include "backend/device_backend.h"
#include "kernels/variant.h"
#include "net/network.h"
#include "runtime/thread_pool.h"
#include "runtime/workspace.h"
#include "scales/engine.h"

namespace scales {

struct Engine::Impl {
  EngineOptions opt;
  const kernels::KernelVariant* kernel;
  runtime::ThreadPool pool;
  runtime::Workspace ws;                           // keeps at most one tile budget of idle feature maps between calls
  std::mutex mu;                                   // one forward pass at a time on this engine's pool
  std::unique_ptr<backend::DeviceBackend> device;  // null: everything on the CPU

  Impl(const EngineOptions& o, const kernels::KernelVariant& k)
      : opt(o), kernel(&k), pool(o.threads), ws(o.tile_memory_mb << 20) {}

  bool on_device(const net::Network& n) const { return device && device->supports(n); }
  // One tile on the CPU path (the device path batches: Engine::run).
  Image cpu_forward(const net::Network& n, const Image& in, const net::StatsPlan& plan) {
    std::lock_guard<std::mutex> lk(mu);
    net::Runtime rt{pool, *kernel, ws};
    return n.forward(in, rt, plan);
  }
};

}  // namespace scales
