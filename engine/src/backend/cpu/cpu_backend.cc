#include "backend/cpu/cpu_backend.h"

#include "backend/cpu/ops.h"

namespace scales::backend {

namespace {
template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;  // clang 14 has no aggregate deduction
// The binary linear that op i+1 reads op i's output with, if it does: op i (a binary op Linear)
// then records that reader's InputStats as it writes (backend/batch.h), and the reader makes no
// pass of its own over the map.
cpu::StatsReader next_reader(const net::Program& prog, size_t i) {
  if (i + 1 >= prog.ops.size() || prog.ops[i + 1].x != prog.ops[i].y || prog.ops[i].y < 0) return {};
  const net::Op& nx = prog.ops[i + 1];
  if (const auto* l = nx.as<net::op::Linear>(); l && l->layer->p->binary) return {l->layer, l->norm};
  if (const auto* a = nx.as<net::op::WindowAttention>(); a && a->qkv && a->qkv->p->binary) return {a->qkv, a->norm};
  return {};
}

}  // namespace

size_t CpuBackend::run(const net::Network& net, size_t i, Batch& b) {
  const net::Program& prog = net.program();
  const net::Op& op = prog.ops[i];
  net::Runtime rt{pool_, kernel_, ws_, b.tap, low_precision_};
  Tensor* x = op.x >= 0 ? &b.tensors[op.x] : nullptr;
  Tensor* out = op.y >= 0 ? &b.tensors[op.y] : nullptr;  // null for op::Output
  Tensor& y = out ? *out : *x;
  size_t next = i + 1;
  std::visit(Overload{
                 [&](const net::op::Input& p) { cpu::input(p, b, y, rt); },
                 [&](const net::op::Conv& p) { cpu::conv(p, b, *x, y, rt); },
                 [&](const net::op::ConvShuffle& p) {
                   // The tail fused in: a conv right after that alone reads this op's output
                   // takes it band by band (backend/cpu/conv_shuffle.cc).
                   const net::Op* t = i + 1 < prog.ops.size() ? &prog.ops[i + 1] : nullptr;
                   if (fuse_ && t && t->as<net::op::Conv>() && t->x == op.y && t->y >= 0 && op.tap.empty() &&
                       prog.last_uses()[op.y] == i + 1) {
                     Tensor& ty = b.tensors[t->y];
                     cpu::conv_shuffle_conv(p, *t->as<net::op::Conv>(), b, *x, ty, rt);
                     if (b.tap && !t->tap.empty()) (*b.tap)(t->tap, ty.h, ty.w, ty.c, ty.item(0));
                     next = i + 2;
                   } else {
                     cpu::conv_shuffle(p, b, *x, y, rt);
                   }
                 },
                 [&](const net::op::BinaryResidual&) {
                   // The chain: this op and the binary residual convs right after it on the same tensor.
                   while (fuse_ && next < prog.ops.size() && prog.ops[next].as<net::op::BinaryResidual>() &&
                          prog.ops[next].x == op.x)
                     ++next;
                   cpu::binary_residual_chain(std::span(prog.ops).subspan(i, next - i), prog.stats_slots, b, y, rt);
                 },
                 [&](const net::op::ConvResidual& p) { cpu::conv_residual(p, b, y, rt); },
                 [&](const net::op::LayerNorm& p) { cpu::layer_norm(p, b, *x, y, rt); },
                 [&](const net::op::Linear& p) {
                   cpu::linear(p, b, *x, y, rt, fuse_ ? next_reader(prog, i) : cpu::StatsReader{});
                 },
                 [&](const net::op::WindowAttention& p) { cpu::window_attention(p, b, *x, y, rt); },
                 [&](const net::op::Add&) { cpu::add(b, *x, y, rt); },
                 [&](const net::op::Copy&) { cpu::copy(b, *x, y, rt); },
                 [&](const net::op::Output& p) { cpu::output(p, b, *x); },
             },
             op.params);
  // Only op Linear records InputStats (and clears them itself); anything else that wrote a
  // tensor leaves none on it.
  if (!op.as<net::op::Linear>())
    for (size_t k = i; k < next; ++k)
      if (prog.ops[k].y >= 0) b.tensors[prog.ops[k].y].input_stats.clear();
  // The chain taps its own layers; every other op's result is tapped here.
  if (b.tap && out && !op.tap.empty() && !op.as<net::op::BinaryResidual>()) (*b.tap)(op.tap, y.h, y.w, y.c, y.item(0));
  return next;
}

}  // namespace scales::backend
