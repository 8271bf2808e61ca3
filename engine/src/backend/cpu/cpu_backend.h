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
  // fuse = false runs every op on its own (a chain of binary residual convs too): the op-by-op
  // reference of the backend tests. The results are the same bit for bit.
  CpuBackend(runtime::ThreadPool& pool, const kernels::KernelVariant& kernel, runtime::Workspace& ws, bool fuse = true)
      : pool_(pool), kernel_(kernel), ws_(ws), fuse_(fuse) {}
  // false: every FP conv in fp32, whatever its model file records (EngineOptions::fp_precision).
  void allow_low_precision(bool on) { low_precision_ = on; }
  std::string name() const override { return "cpu"; }
  bool supports(const net::Op&) const override { return true; }
  size_t run(const net::Network& net, size_t i, Batch& b) override;

 private:
  runtime::ThreadPool& pool_;
  const kernels::KernelVariant& kernel_;
  runtime::Workspace& ws_;
  const bool fuse_;
  bool low_precision_ = true;
};

}  // namespace scales::backend
