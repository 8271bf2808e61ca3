// The one place a binary kernel variant (3x3 conv and linear, same ISA) is chosen. Variants are compiled per ISA (one
// translation unit each, see engine/CMakeLists.txt); the CPU is probed once; the best supported
// variant wins unless a name is requested (tests, benchmarks, SCALES_KERNEL).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "bconv/kernel.h"
#include "blinear/kernel.h"

namespace scales::bconv {

struct KernelVariant {
  std::string_view name;  // "ref", "avx2", "avx512", "neon"
  Bconv3x3RowFn row;
  blinear::BlinearFn linear;  // the binary linear layer (SwinIR) for the same ISA
  blinear::PackFn pack;       // its token sign packing (NEON: the reference)
  bool supported;  // this CPU can run it
};

// Every variant compiled into this build, best last.
std::span<const KernelVariant> kernel_variants();

// "" or "auto": the best supported variant. Otherwise the named one; throws scales::Error when
// the name is unknown, not compiled in, or not supported by this CPU.
const KernelVariant& select_kernel(std::string_view requested);

}  // namespace scales::bconv
