// Engine's private state, shared by engine.cc and tile/tile_job.cc.
#pragma once

#include <mutex>

#include "bconv/dispatch.h"
#include "runtime/thread_pool.h"
#include "runtime/workspace.h"
#include "scales/engine.h"

namespace scales {

struct Engine::Impl {
  EngineOptions opt;
  const bconv::KernelVariant* kernel;
  runtime::ThreadPool pool;
  runtime::Workspace ws;  // keeps at most one tile budget of idle feature maps between calls
  std::mutex mu;          // one forward pass at a time on this engine's pool

  Impl(const EngineOptions& o, const bconv::KernelVariant& k)
      : opt(o), kernel(&k), pool(o.threads), ws(o.tile_memory_mb << 20) {}
};

}  // namespace scales
