// What the engine needs from an architecture: its ops (net/op.h), and how much context and memory
// a tile needs. SCALES-EDSR (net/edsr.h) and SCALES-SwinIR (net/swinir.h) implement it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/variant.h"
#include "net/op.h"
#include "runtime/thread_pool.h"
#include "runtime/workspace.h"
#include "scales/engine.h"
#include "tile/tiler.h"

namespace scales::net {

// Called with intermediate feature maps (name, height, width, channels, HWC data) for
// layer-level tests and debugging; names as in the golden files ("head", "blocks.<i>", "body_end").
using LayerTap = std::function<void(const std::string& name, int h, int w, int c, const float* hwc)>;

// What a forward pass on the CPU may use; owned by the caller (the Engine), valid for the call.
struct Runtime {
  runtime::ThreadPool& pool;
  const kernels::KernelVariant& kernel;
  runtime::Workspace& ws;         // feature-map memory, reused across calls
  const LayerTap* tap = nullptr;  // null in production
  // FP convs may run in the precision their model file records (fp/conv3x3.h); false: all fp32.
  bool low_precision = true;
};

// Image-wide statistics: for every layer that uses them (SCALES channel re-scaling), the sum of
// its input over the image, per channel. A tiled run collects them from every tile's core in a
// first pass (body only) and then runs every tile with them, so all tiles share one set of
// channel factors (docs/engine.md: tiling).
struct ImageStats {
  std::vector<std::vector<double>> layer_sums;  // [body layer][channel]; empty for layers without
  double pixels = 0;
};

struct StatsPlan {
  const ImageStats* use = nullptr;  // apply these instead of the tile's own statistics
  ImageStats* collect = nullptr;    // add the core's sums here; the run stops after the body
  tile::Rect core;                  // the core, in the tile's window coordinates (for collect)
};

// A network: its op list (net/op.h) and what the tile planner needs to know about it. SCALES-EDSR
// (net/edsr.h) and SCALES-SwinIR (net/swinir.h) fill one in; backends run its ops.
class Network {
 public:
  virtual ~Network() = default;
  // Unique for the process's lifetime (addresses repeat once a model is unloaded): the key under
  // which a device backend keeps this network's weights.
  uint64_t instance_id() const { return id_; }
  virtual const ModelInfo& info() const = 0;
  virtual const Program& program() const = 0;
  // LR pixels of input a tile needs on every side for its core to be computed as in the whole
  // image (the receptive radius), not counting image-wide statistics (see docs/engine.md).
  virtual int context() const = 0;
  // Peak working memory of a forward pass per input pixel, in bytes (an upper estimate).
  virtual size_t bytes_per_pixel() const = 0;
  // Tiles start at multiples of this many LR pixels (SwinIR: its window; see tile/tiler.h).
  virtual int tile_alignment() const { return 1; }
  // Whether the output depends on image-wide statistics (then tiles need the two-pass run).
  virtual bool uses_image_stats() const = 0;
  // Upscales one tile (or a whole image) by info().scale on the CPU (backend/cpu_backend.h);
  // returns an empty image in collect mode.
  Image forward(const Image& in, Runtime& rt, const StatsPlan& stats = {}) const;

 private:
  static uint64_t next_id() {
    static std::atomic<uint64_t> n{0};
    return ++n;
  }
  const uint64_t id_ = next_id();
};

}  // namespace scales::net
