// Network::forward: one tile on the CPU backend, for callers that hold a Runtime (the tests'
// layer taps, tools); the engine runs batches through the executor itself (tile/driver.cc).
#include "net/network.h"

#include "backend/cpu/cpu_backend.h"
#include "backend/executor.h"

namespace scales::net {

Image Network::forward(const Image& in, Runtime& rt, const StatsPlan& stats) const {
  backend::CpuBackend cpu(rt.pool, rt.kernel, rt.ws);
  backend::Batch b;
  b.in = {&in};
  b.plans = {stats};
  b.host_memory = &rt.ws;
  b.tap = rt.tap;
  auto out = backend::execute(*this, b, cpu);
  return std::move(out.at(0));
}

}  // namespace scales::net
