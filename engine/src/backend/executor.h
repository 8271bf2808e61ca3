// The executor: runs a network's program over a batch, top to bottom. Each op runs on the device
// backend when there is one and it supports the op, else on the CPU backend; before an op, the
// tensors it reads are copied to its side if their current copy is on the other. A tensor's
// memory goes after the last op that uses it. A batch whose items all collect image statistics
// stops after the op that ends the statistics pass.
#pragma once

#include <mutex>
#include <vector>

#include "backend/backend.h"

namespace scales::backend {

struct ExecuteOptions {
  Backend* device = nullptr;       // null: every op on the CPU
  std::mutex* cpu_lock = nullptr;  // taken around each CPU op (null: the caller holds it)
};

// Returns the batch's images (empty ones for items that only collect statistics).
std::vector<Image> execute(const net::Network& net, Batch& b, Backend& cpu, const ExecuteOptions& opt = {});

}  // namespace scales::backend
