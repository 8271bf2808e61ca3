// The backend test harness: a backend checked against the CPU reference (the "ref" kernel
// variant, every op on its own) op by op. Each op the backend runs starts from the reference's
// inputs, so one op's error cannot hide or mimic another's; ops the backend does not support are
// run by the reference only. The CPU kernel variants (test_backends.cc) and the CUDA backend
// (tests/cuda/test_cuda_network.cc) are checked with it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "kernels/variant.h"
#include "net/network.h"

namespace scales::testing {

struct OpCheck {
  size_t op = 0;       // the first op of the run the backend did (a fused run counts once)
  size_t ops = 1;      // how many ops that run covered
  std::string name;    // op_name of its last op
  double max_abs = 0;  // largest |backend - reference| over the run's result
  double max_ref = 0;  // largest |reference| there
};

inline void copy_to(const backend::Tensor& from, backend::Tensor& to, int items, runtime::Workspace& ws) {
  to.make_host(ws, items, from.h, from.w, from.c);
  for (int i = 0; i < items; ++i) std::memcpy(to.item(i), from.item(i), from.item_floats() * sizeof(float));
}

inline void diff(const float* a, const float* b, size_t n, OpCheck& c) {
  for (size_t k = 0; k < n; ++k) {
    c.max_abs = std::max(c.max_abs, std::abs(static_cast<double>(a[k]) - b[k]));
    c.max_ref = std::max(c.max_ref, std::abs(static_cast<double>(b[k])));
  }
}

// One check per run of ops the backend did, in program order. `in` are the batch's items (one
// size); plans must not collect (each side would add to it).
inline std::vector<OpCheck> compare_op_by_op(const net::Network& net, const std::vector<const Image*>& in,
                                             backend::Backend& test, const std::vector<net::StatsPlan>& plans = {}) {
  runtime::ThreadPool pool(2);
  runtime::Workspace ws(size_t{64} << 20);
  backend::CpuBackend ref(pool, kernels::select_kernel("ref"), ws, /*fuse=*/false);
  const net::Program& prog = net.program();
  backend::Batch rb, tb;
  for (backend::Batch* b : {&rb, &tb}) {
    b->in = in;
    b->plans = plans.empty() ? std::vector<net::StatsPlan>(in.size()) : plans;
    b->host_memory = &ws;
    b->tensors.resize(prog.tensors);
    b->out.assign(in.size(), Image{});
  }
  std::vector<OpCheck> checks;
  test.begin(tb);
  try {
    size_t i = 0;
    while (i < prog.ops.size()) {
      const net::Op& op = prog.ops[i];
      if (!test.supports(op)) {
        i = ref.run(net, i, rb);
        continue;
      }
      for (int t : op.inputs()) {
        copy_to(rb.tensors[t], tb.tensors[t], rb.size(), ws);
        test.to_device(tb, t);
      }
      const size_t next = test.run(net, i, tb);
      for (size_t k = i; k < next; ++k) ref.run(net, k, rb);
      OpCheck c;
      c.op = i;
      c.ops = next - i;
      c.name = net::op_name(prog.ops[next - 1]);
      const int y = prog.ops[next - 1].y;
      if (y >= 0) {
        backend::Tensor& got = tb.tensors[y];
        if (!got.on_host) test.to_host(tb, y);
        const backend::Tensor& want = rb.tensors[y];
        if (got.h != want.h || got.w != want.w || got.c != want.c) {
          c.max_abs = INFINITY;  // a wrong shape fails any tolerance
        } else {
          for (int k = 0; k < rb.size(); ++k) diff(got.item(k), want.item(k), want.item_floats(), c);
        }
      } else {
        for (int k = 0; k < rb.size(); ++k) {
          if (tb.out[k].rgb.size() != rb.out[k].rgb.size()) {
            c.max_abs = INFINITY;
            continue;
          }
          diff(tb.out[k].rgb.data(), rb.out[k].rgb.data(), rb.out[k].rgb.size(), c);
        }
      }
      checks.push_back(c);
      i = next;
    }
  } catch (...) {
    test.end(tb);
    throw;
  }
  test.end(tb);
  return checks;
}

}  // namespace scales::testing
