// A network's op parameters resident on one GPU: uploaded once, when the network's first batch
// reaches the device, and kept until the backend drops the network (cuda_backend.cc).
#pragma once

#include <memory>
#include <vector>

#include "cuda/device_array.h"
#include "net/network.h"

namespace scales::cuda {

enum class BconvKernel { ref, bmma };  // reference conv + epilogue, or the fused tensor-core kernel

struct DeviceConv {  // FP conv3x3 (out, in, 3, 3) + bias
  int out = 0, in = 0;
  DeviceArray<float> weight, bias;
};

struct DeviceBinaryLayer {  // a binary residual conv's SCALES parameters (bconv/params.h)
  BconvKernel kernel = BconvKernel::ref;
  DeviceArray<uint64_t> bits, chunks;  // (C, 3, 3, words); (kchunks, C, 2) for bmma
  DeviceArray<int> popc_w;
  DeviceArray<float> gk, shift, spatial_w, fc1_w, fc1_b, fc2_w, fc2_b;
  float spatial_b = 0;
  int hidden = 0;
};

// One op's device parameters; which members are set depends on the op.
struct DeviceOp {
  DeviceConv conv;
  DeviceBinaryLayer binary;
  DeviceArray<float> prelu;
};

class ResidentNetwork {
 public:
  // Uploads the parameters of every op that has any (convs, binary layers, PReLU slopes).
  ResidentNetwork(const net::Program& prog, BconvKernel kernel);
  const DeviceOp& op(size_t i) const { return *ops_.at(i); }
  size_t bytes() const { return bytes_; }

 private:
  std::vector<std::unique_ptr<DeviceOp>> ops_;  // null for ops without device parameters
  size_t bytes_ = 0;
};

}  // namespace scales::cuda
