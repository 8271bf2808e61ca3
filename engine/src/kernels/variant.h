// The one place a CPU kernel variant is chosen. A variant is one ISA's binary GEMM core
// (bgemm/bgemm.h) and sign packing; the 3x3 conv and the linear both run on it. It also names
// that ISA's fused epilogue and fused window attention, where there are ones. Variants are
// compiled per ISA (one translation unit each, see engine/CMakeLists.txt); the CPU is probed
// once; the best supported variant wins unless a name is requested (tests, benchmarks,
// SCALES_KERNEL). "ref" is the reference GEMM, always built.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "attn/window.h"
#include "bconv/epilogue.h"
#include "bconv/kernel.h"
#include "bgemm/bgemm.h"
#include "blinear/epilogue.h"
#include "blinear/gelu.h"
#include "blinear/kernel.h"
#include "fp/layer_norm.h"

namespace scales::kernels {

struct KernelVariant {
  std::string_view name;  // "ref", "avx2", "avx512", "neon"
  bgemm::GemmFn gemm;
  bgemm::PackFn pack;  // token sign packing (the reference where an ISA has none of its own)
  bool supported;      // this CPU can run it
  // The body's epilogue and next-layer preparation in one pass (bconv/epilogue.h); null: the
  // generic epilogue_row and prepare_row, one after the other.
  bconv::EpiloguePrepareFn epilogue_prepare = nullptr;
  // SwinIR's fused window attention (attn/window.h) and its lanes; null: the generic oneDNN path
  // (backend/cpu/attention.cc). An FP kernel, but it lives here because it is chosen per ISA too.
  attn::WindowFn window_attention = nullptr;
  int attention_lanes = 0;
  // spatial_factors' vector form (bconv/epilogue.h), equal to it bit for bit; null: the generic one.
  bconv::SpatialFactorsFn spatial_factors = nullptr;
  // GELU's vector form (blinear/gelu.h), equal to the generic one bit for bit; null: the generic one.
  blinear::GeluRowsFn gelu_rows = nullptr;
  // LayerNorm's vector form (fp/layer_norm.h), equal to the generic one bit for bit; null: the generic one.
  fp::LayerNormFn layer_norm = nullptr;
  // The binary linear's residual epilogues (blinear/epilogue.h), equal to bconv's generic
  // epilogue_row_repeat and epilogue_row_mean bit for bit; null: those.
  blinear::ResidualEpilogueFn epilogue_repeat = nullptr, epilogue_mean = nullptr;
  // Its residual-free epilogue (z = 0 + ybin * g in one pass); null: zeros, then bconv's epilogue_row.
  blinear::PlainEpilogueFn epilogue_plain = nullptr;

  // One output row of a binary 3x3 conv (bconv/kernel.h).
  void row(const bconv::PackedMap& a, const bconv::BconvWeights& w, int y, int32_t* out) const {
    bconv::bconv3x3_row(gemm, a, w, y, out);
  }
  // A binary linear over `tokens` packed tokens (blinear/kernel.h).
  void linear(const uint64_t* a, int tokens, const blinear::BlinearWeights& w, int32_t* out) const {
    blinear::blinear(gemm, a, tokens, w, out);
  }
};

// Every variant compiled into this build, best last.
std::span<const KernelVariant> kernel_variants();

// "" or "auto": the best supported variant. Otherwise the named one; throws scales::Error when
// the name is unknown, not compiled in, or not supported by this CPU.
const KernelVariant& select_kernel(std::string_view requested);

}  // namespace scales::kernels
