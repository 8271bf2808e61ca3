// A batch in flight: the input tiles (one size), their statistics plans, the program's tensors
// and the output images. The executor (backend/executor.h) owns it for one run; backends read
// and write its tensors.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "net/network.h"
#include "runtime/workspace.h"

namespace scales::backend {

// A device backend's copy of a tensor (all items); each backend defines its own.
struct DeviceTensor {
  virtual ~DeviceTensor() = default;
};

// What a binary linear's whole-map pass over its input finds (BinaryLinear::prepare, backend/
// cpu/binary_linear.h): each channel's sum over each block of consecutive tokens, and with the
// linear's LayerNorm each token's mean and rstd. The CPU op that writes a map the very next op
// reads with a binary linear records them as it writes each block (cpu_backend.cc), so the
// reader skips that pass: the same numbers, without reading the map once more.
struct InputStats {
  const void* reader = nullptr;    // the net::LinearLayer they are for; null: none recorded
  const void* norm = nullptr;      // the net::op::LayerNorm applied before summing, or null
  int64_t tokens = 0;              // the map's
  int channels = 0;                // the reader's input channels
  std::vector<double> block_sums;  // blocks x channels
  std::vector<float> token_stats;  // with `norm`: (mean, rstd) per token
};

struct Tensor {
  int h = 0, w = 0, c = 0;                       // per item
  std::vector<runtime::Workspace::Buffer> host;  // one map per item, when on_host
  std::unique_ptr<DeviceTensor> device;          // when on_device
  bool on_host = false, on_device = false;       // where a current copy is (both after a transfer)
  // Per item, recorded by the op that wrote the host maps for the op that reads them next;
  // empty where none was. Cleared before any op writes the tensor.
  std::vector<InputStats> input_stats;

  size_t item_floats() const { return static_cast<size_t>(h) * w * c; }
  float* item(int i) const { return host[i].data(); }
  // Makes fresh host maps of this shape (uninitialised): the tensor's host copy only.
  void make_host(runtime::Workspace& ws, int items, int h_, int w_, int c_) {
    h = h_;
    w = w_;
    c = c_;
    host.clear();
    input_stats.clear();
    for (int i = 0; i < items; ++i) host.push_back(ws.acquire(item_floats()));
    device.reset();
    on_host = true;
    on_device = false;
  }
  void release() {
    host.clear();
    input_stats.clear();
    device.reset();
    on_host = on_device = false;
  }
};

struct Batch {
  std::vector<const Image*> in;       // one size
  std::vector<net::StatsPlan> plans;  // one per item
  std::vector<Image> out;             // filled by op::Output (empty for collecting items)
  std::vector<Tensor> tensors;        // the program's
  runtime::Workspace* host_memory = nullptr;
  const net::LayerTap* tap = nullptr;

  int size() const { return static_cast<int>(in.size()); }
  // Item i's output image, sized `scale` times its input (uninitialised values), or null for an
  // item that only collects statistics: what every backend's op::Output fills.
  Image* output_image(int i, int scale) {
    if (plans[i].collect) return nullptr;
    Image& o = out[i];
    o.height = scale * in[i]->height;
    o.width = scale * in[i]->width;
    o.rgb.resize(static_cast<size_t>(o.height) * o.width * 3);
    return &o;
  }
};

}  // namespace scales::backend
