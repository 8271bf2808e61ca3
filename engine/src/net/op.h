// The op vocabulary: what a network is, as a backend sees it. net/edsr.cc and net/swinir.cc each
// describe their network once, as a Program (a list of ops over numbered tensors); backends
// (backend/backend.h) run ops, and the executor (backend/executor.h) walks the list.
//
// A tensor is one NHWC float map per item of a batch (SwinIR's tokens are the pixels of its map,
// row-major). An op reads tensor x and writes tensor y; x == y means in place.
//
// Op parameters point into the Network that owns the program (its weights and the CPU's prepared
// forms of them), so a Program is valid as long as its Network.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "bconv/params.h"
#include "bconv/weights.h"
#include "blinear/kernel.h"
#include "blinear/params.h"
#include "fp/conv3x3.h"

namespace scales::net {

// A binary layer ready to run: its SCALES parameters and the forms the CPU kernels read.
struct BinaryConvLayer {
  const bconv::ScalesParams* p = nullptr;  // weight_bits (O, 3, 3, words)
  bconv::BconvWeights weights;
  std::vector<float> gk;  // alpha * k
};
struct LinearLayer {
  const blinear::LinearParams* p = nullptr;
  blinear::BlinearWeights weights;  // binary only
  std::vector<float> gk;            // binary only: alpha * k
};

namespace op {

// y = pad(image) - mean: the batch's input images, padded bottom/right to multiples of `align`
// (reflected without repeating the edge, or the edge repeated where the padding is longer than
// the image: SwinIR's pad_to_window).
struct Input {
  float mean[3] = {0, 0, 0};
  int align = 1;
};
// y = conv3x3(x) + bias.
struct Conv {
  const fp::Conv3x3* conv = nullptr;
};
// y = pixel_shuffle_r(conv3x3(x)): y[r*Y + dy, r*X + dx, ch] = conv[Y, X, ch*r*r + dy*r + dx].
// `subpixel_major` is the same conv with its output channels reordered to s*C + ch (sub-pixel s =
// dy*r + dx; fp/subpixel.h): the CPU runs it a band of rows at a time and copies each sub-pixel's
// C channels into place as one run, so no r*r*C map of the whole input exists.
struct ConvShuffle {
  const fp::Conv3x3* conv = nullptr;
  int r = 2;
  const fp::Conv3x3* subpixel_major = nullptr;
};
// x = prelu(x + ybin * g), in place: a binary 3x3 residual conv with the SCALES output transform
// (bconv/epilogue.h), PReLU when `prelu` is given. Channel factors come from the item's own
// statistics, or from the image's (StatsPlan) at `stats_slot` (-1: always the item's own).
struct BinaryResidual {
  const BinaryConvLayer* layer = nullptr;
  const std::vector<float>* prelu = nullptr;
  int stats_slot = -1;
};
// x = prelu(x + conv3x3(x)), in place: the FP twin's residual conv.
struct ConvResidual {
  const fp::Conv3x3* conv = nullptr;
  const std::vector<float>* prelu = nullptr;
};
// y = LayerNorm(x) over channels (eps 1e-5).
struct LayerNorm {
  const std::vector<float>* w = nullptr;
  const std::vector<float>* b = nullptr;
};
// y = linear(x) per token, binary or FP (blinear/params.h); y has p->out channels. With `gelu`,
// then y = gelu(y) (the erf form): SwinIR's fc1, the activation applied while each chunk of
// tokens is in cache instead of as a pass over the whole hidden tensor. With `norm`, the layer
// reads LayerNorm(x) with these weights (as op LayerNorm), formed chunk by chunk and never written
// whole: SwinIR's qkv and fc1 are the only readers of their LayerNorms. With `accumulate`,
// y = y + linear(x) (y exists, of p->out channels): SwinIR's proj and fc2 add into the residual
// stream as each chunk leaves the epilogue, so their outputs are never written whole (the same
// bits as linear, then op Add).
struct Linear {
  const LinearLayer* layer = nullptr;
  bool gelu = false;
  const LayerNorm* norm = nullptr;
  bool accumulate = false;
};
// y = windowed multi-head self-attention of x = qkv (3C channels: q, k, v), y has C channels;
// windows of window x window tokens, rolled by `shift` (Swin's shifted windows, with the mask).
// With `qkv`, x is the C-channel stream and the op forms qkv = Linear{qkv, norm}(x) itself: a
// binary qkv window by window where the CPU has the fused kernel, so its 3C map (the largest of
// a layer) is never written whole; otherwise whole, as op Linear, first.
struct WindowAttention {
  const std::vector<float>* position_bias = nullptr;  // (heads, N, N), N = window^2
  int heads = 1, window = 8, shift = 0;
  const LinearLayer* qkv = nullptr;
  const LayerNorm* norm = nullptr;
};
struct Add {};   // y = y + x
struct Copy {};  // y = x
// The batch's output images: x + mean, cropped to scale times each input's size.
struct Output {
  float mean[3] = {0, 0, 0};
  int scale = 2;
};

}  // namespace op

using OpParams = std::variant<op::Input, op::Conv, op::ConvShuffle, op::BinaryResidual, op::ConvResidual, op::LayerNorm,
                              op::Linear, op::WindowAttention, op::Add, op::Copy, op::Output>;

struct Op {
  OpParams params;
  int x = -1, y = -1;            // tensors read and written
  std::string tap;               // report y under this name to a LayerTap ("" = not tapped)
  bool ends_stats_pass = false;  // a run that only collects image statistics stops after this op

  // The tensors the op reads: x, and y too when it updates y (in place, or y += x).
  std::vector<int> inputs() const;

  template <class T>
  const T* as() const {
    return std::get_if<T>(&params);
  }
};

struct Program {
  std::vector<Op> ops;
  int tensors = 0;      // tensor numbers are 0 .. tensors - 1
  int stats_slots = 0;  // ImageStats::layer_sums entries the program's BinaryResidual ops use

  int tensor() { return tensors++; }  // a new tensor number
  Op& add(OpParams p, int x, int y, std::string tap = "") {
    ops.push_back(Op{std::move(p), x, y, std::move(tap)});
    return ops.back();
  }
  // [tensor] the index of the last op that reads or writes it (its memory can go after that op).
  std::vector<size_t> last_uses() const;
};

// The op's name, for errors and traces ("conv", "binary_residual", ...).
const char* op_name(const Op& op);

}  // namespace scales::net
