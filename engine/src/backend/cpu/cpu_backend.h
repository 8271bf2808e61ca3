// The CPU backend: runs every op (backend/cpu/ops.h) on the engine's thread pool with the chosen
// binary kernel variant (kernels/variant.h). It is the reference every other backend is tested
// against, op by op, and the fallback for the ops a device backend does not support.
#pragma once

#include "backend/backend.h"
#include "kernels/variant.h"
#include "runtime/thread_pool.h"
#include "runtime/workspace.h"

namespace scales::backend {

class CpuBackend final : public Backend {
 public:
  CpuBackend(runtime::ThreadPool& pool, const kernels::KernelVariant& kernel, runtime::Workspace& ws)
      : pool_(pool), kernel_(kernel), ws_(ws) {}
  std::string name() const override { return "cpu"; }
  bool supports(const net::Op&) const override { return true; }
  size_t run(const net::Network& net, size_t i, Batch& b) override;

 private:
  runtime::ThreadPool& pool_;
  const kernels::KernelVariant& kernel_;
  runtime::Workspace& ws_;
};

}  // namespace scales::backend
