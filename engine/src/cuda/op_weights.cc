#include "cuda/op_weights.h"

#include "bconv/epilogue.h"
#include "cuda/bmma_weights.h"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {

DeviceConv upload(const fp::ConvParams& c, size_t& bytes) {
  DeviceConv d;
  d.out = c.out;
  d.in = c.in;
  d.weight = DeviceArray<float>(c.weight);
  d.bias = DeviceArray<float>(c.bias);
  bytes += d.weight.bytes() + d.bias.bytes();
  return d;
}

DeviceBinaryLayer upload(const net::BinaryConvLayer& L, BconvKernel kernel, size_t& bytes) {
  const bconv::ScalesParams& p = *L.p;
  const int c = L.weights.c_out, words = L.weights.words;
  DeviceBinaryLayer d;
  // Widths the tensor-core kernel does not take (not a multiple of 8, over 256) use the reference.
  d.kernel = kernel == BconvKernel::bmma && bmma_supported(c) ? BconvKernel::bmma : BconvKernel::ref;
  d.bits = DeviceArray<uint64_t>(p.weight_bits);
  const BmmaWeights bw = make_bmma_weights(p.weight_bits, c, words);
  d.chunks = DeviceArray<uint64_t>(bw.chunks);
  d.popc_w = DeviceArray<int>(bw.popc);
  d.gk = DeviceArray<float>(L.gk);
  d.shift = DeviceArray<float>(p.shift);
  d.spatial_w = DeviceArray<float>(p.spatial_w);
  d.spatial_b = p.spatial_b;
  d.fc1_w = DeviceArray<float>(p.fc1_w);
  d.fc1_b = DeviceArray<float>(p.fc1_b);
  d.fc2_w = DeviceArray<float>(p.fc2_w);
  d.fc2_b = DeviceArray<float>(p.fc2_b);
  d.hidden = p.hidden;
  bytes += d.bits.bytes() + d.chunks.bytes() + d.gk.bytes() + d.fc1_w.bytes() + d.fc2_w.bytes();
  return d;
}

}  // namespace

ResidentNetwork::ResidentNetwork(const net::Program& prog, BconvKernel kernel) {
  for (const net::Op& op : prog.ops) {
    auto d = std::make_unique<DeviceOp>();
    if (const auto* p = op.as<net::op::Conv>()) {
      d->conv = upload(p->conv->params(), bytes_);
    } else if (const auto* p = op.as<net::op::ConvShuffle>()) {
      d->conv = upload(p->conv->params(), bytes_);
    } else if (const auto* p = op.as<net::op::ConvResidual>()) {
      d->conv = upload(p->conv->params(), bytes_);
      if (p->prelu) d->prelu = DeviceArray<float>(*p->prelu);
    } else if (const auto* p = op.as<net::op::BinaryResidual>()) {
      d->binary = upload(*p->layer, kernel, bytes_);
      if (p->prelu) d->prelu = DeviceArray<float>(*p->prelu);
    } else {
      d.reset();
    }
    ops_.push_back(std::move(d));
  }
}

}  // namespace scales::cuda
