// What the engine needs from an architecture: a forward pass over one tile, and how much context
// and memory a tile needs. SCALES-EDSR implements it (net/edsr.h); SCALES-SwinIR will be a second
// implementation beside it, reusing the same runtime and binary kernels.
#pragma once

#include <cstddef>

#include "bconv/dispatch.h"
#include "runtime/thread_pool.h"
#include "scales/engine.h"

namespace scales::net {

// What a forward pass may use; owned by the caller (the Engine), valid for the call.
struct Runtime {
  runtime::ThreadPool& pool;
  const bconv::KernelVariant& kernel;
};

class Network {
 public:
  virtual ~Network() = default;
  virtual const ModelInfo& info() const = 0;
  // LR pixels of input a tile needs on every side for its core to be computed as in the whole
  // image (the receptive radius), not counting image-wide statistics (see docs/engine.md).
  virtual int context() const = 0;
  // Peak working memory of forward() per input pixel, in bytes (an upper estimate).
  virtual size_t bytes_per_pixel() const = 0;
  // Upscales one tile (or a whole image) by info().scale.
  virtual Image forward(const Image& in, Runtime& rt) const = 0;
};

}  // namespace scales::net
