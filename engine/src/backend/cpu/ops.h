// The CPU backend's ops, one function per op (or family), each over every item of the batch:
// what cpu_backend.cc dispatches to. Every one runs its rows or tokens on the runtime's pool in
// fixed chunks, so results do not depend on the thread count.
#pragma once

#include <span>

#include "backend/batch.h"
#include "net/network.h"

namespace scales::backend::cpu {

// glue_ops.cc: input, FP convs, LayerNorm, add, copy, output.
void input(const net::op::Input& p, Batch& b, Tensor& y, net::Runtime& rt);
void conv(const net::op::Conv& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt);
void conv_residual(const net::op::ConvResidual& p, Batch& b, Tensor& x, net::Runtime& rt);
void layer_norm(const net::op::LayerNorm& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt);
void add(Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt);
void copy(Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt);
void output(const net::op::Output& p, Batch& b, const Tensor& x);

// conv_shuffle.cc
void conv_shuffle(const net::op::ConvShuffle& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt);
// conv_shuffle then the conv `t` on its output, band by band: y = t(conv_shuffle(x)) without the
// shuffled map ever existing whole (the last upsampler and EDSR's tail).
void conv_shuffle_conv(const net::op::ConvShuffle& p, const net::op::Conv& t, Batch& b, const Tensor& x, Tensor& y,
                       net::Runtime& rt);

// binary_residual.cc: a chain of binary residual convs on one tensor (ops all BinaryResidual, x
// == y), fused: each row leaves a layer as the next layer's packed signs. `stats_slots` sizes
// the collected ImageStats. Taps each op's result.
void binary_residual_chain(std::span<const net::Op> chain, int stats_slots, Batch& b, Tensor& x, net::Runtime& rt);

// The binary linear that the op right after reads this op's output with (its LayerNorm, or
// null): a binary op Linear records that reader's InputStats (batch.h) into y as it writes it.
struct StatsReader {
  const net::LinearLayer* layer = nullptr;
  const net::op::LayerNorm* norm = nullptr;
};

// linear.cc: a binary (popcount GEMM + SCALES transform) or FP linear layer per token. It takes
// x's recorded InputStats where they are for its layer, and records next's into y.
void linear(const net::op::Linear& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt, StatsReader next = {});

// attention.cc: windowed multi-head self-attention (its binary qkv takes x's recorded
// InputStats, as op Linear does).
void window_attention(const net::op::WindowAttention& p, Batch& b, const Tensor& x, Tensor& y, net::Runtime& rt);

}  // namespace scales::backend::cpu
