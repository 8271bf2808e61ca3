#include "backend/executor.h"

#include <algorithm>

#include "runtime/trace.h"

namespace scales::backend {

namespace {

// Ends a device batch however the run leaves (the device unlocks and stops its clock).
struct DeviceScope {
  Backend* device;
  Batch& b;
  DeviceScope(Backend* d, Batch& batch) : device(d), b(batch) {
    if (device) device->begin(b);
  }
  ~DeviceScope() {
    if (device) device->end(b);
  }
};

}  // namespace

std::vector<Image> execute(const net::Network& net, Batch& b, Backend& cpu, const ExecuteOptions& opt) {
  const net::Program& prog = net.program();
  if (b.in.empty()) return {};
  if (b.plans.size() != b.in.size()) throw Error("execute: one statistics plan per item expected");
  for (const Image* t : b.in)
    if (t->width != b.in[0]->width || t->height != b.in[0]->height)
      throw Error("execute: the items of one batch must have one size");
  b.tensors.clear();
  b.tensors.resize(prog.tensors);
  b.out.assign(b.in.size(), Image{});
  const bool all_collect =
      std::all_of(b.plans.begin(), b.plans.end(), [](const net::StatsPlan& p) { return p.collect != nullptr; });
  const std::vector<size_t> last = prog.last_uses();
  Backend* device = opt.device;
  DeviceScope scope(device, b);

  runtime::StageTrace trace;  // SCALES_TRACE=1: each op's (or fused run's) wall time on stderr
  size_t i = 0;
  while (i < prog.ops.size()) {
    const net::Op& op = prog.ops[i];
    const bool on_device = device && device->supports(op);
    const std::vector<int> in = op.inputs();
    for (int t : in) {
      Tensor& tensor = b.tensors[t];
      if (!tensor.on_host && !tensor.on_device)
        throw Error(std::string("execute: op ") + std::to_string(i) + " (" + net::op_name(op) +
                    ") reads a tensor no op has written");
      if (on_device && !tensor.on_device) device->to_device(b, t);
      if (!on_device && !tensor.on_host) device->to_host(b, t);
    }
    // An output the op does not read: its old contents (a tensor number reused across layers)
    // go before the op allocates the new ones, not after.
    if (op.y >= 0 && std::find(in.begin(), in.end(), op.y) == in.end()) b.tensors[op.y].release();
    size_t next;
    if (on_device) {
      next = device->run(net, i, b);
    } else if (opt.cpu_lock) {
      std::lock_guard<std::mutex> lk(*opt.cpu_lock);
      next = cpu.run(net, i, b);
    } else {
      next = cpu.run(net, i, b);
    }
    bool stop = false;
    for (size_t k = i; k < next; ++k) {
      const net::Op& done = prog.ops[k];
      if (done.y >= 0) {  // the side that ran it holds the only current copy
        Tensor& y = b.tensors[done.y];
        if (on_device) {
          y.host.clear();
          y.on_host = false;
        } else {
          y.device.reset();
          y.on_device = false;
        }
      }
      if (on_device && b.tap && !done.tap.empty() && done.y >= 0) {
        device->to_host(b, done.y);
        const Tensor& y = b.tensors[done.y];
        (*b.tap)(done.tap, y.h, y.w, y.c, y.item(0));
      }
      stop = stop || (done.ends_stats_pass && all_collect);
    }
    for (int t = 0; t < prog.tensors; ++t)
      if (last[t] >= i && last[t] < next) b.tensors[t].release();
    trace.mark(net::op_name(op));
    if (stop) break;
    i = next;
  }
  b.tensors.clear();
  return std::move(b.out);
}

}  // namespace scales::backend
