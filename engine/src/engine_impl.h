// Engine's private state, shared by engine.cc and the tile driver (tile/driver.cc).
#pragma once

#include <memory>
#include <mutex>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/executor.h"
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
  runtime::Workspace ws;                     // keeps at most one tile budget of idle feature maps between calls
  std::mutex mu;                             // one CPU op (a CPU batch: all its ops) at a time on this pool
  backend::CpuBackend cpu;                   // every op; the fallback of the device's unsupported ones
  std::unique_ptr<backend::Backend> device;  // null: everything on the CPU

  Impl(const EngineOptions& o, const kernels::KernelVariant& k)
      : opt(o), kernel(&k), pool(o.threads), ws(o.tile_memory_mb << 20), cpu(pool, k, ws) {}

  // Runs one batch of equally sized tiles through the network: on the device when there is one
  // (its unsupported ops on the CPU, one op at a time under mu), else all on the CPU under mu.
  std::vector<Image> run_batch(const net::Network& n, std::vector<const Image*> in, std::vector<net::StatsPlan> plans) {
    backend::Batch b;
    b.in = std::move(in);
    b.plans = std::move(plans);
    b.host_memory = &ws;
    if (device) return backend::execute(n, b, cpu, {device.get(), &mu});
    std::lock_guard<std::mutex> lk(mu);
    return backend::execute(n, b, cpu);
  }
};

}  // namespace scales
