#include "bconv/dispatch.h"

#include <vector>

#include "scales/engine.h"

namespace scales::bconv {

namespace {

std::vector<KernelVariant> probe() {
  std::vector<KernelVariant> v;
  v.push_back({"ref", bconv3x3_row_ref, blinear::blinear_ref, blinear::pack_token_signs, true});
#if defined(SCALES_KERNEL_AVX2)
  __builtin_cpu_init();
  v.push_back({"avx2", bconv3x3_row_avx2, blinear::blinear_avx2, blinear::pack_token_signs_avx2,
               static_cast<bool>(__builtin_cpu_supports("avx2"))});
#endif
#if defined(SCALES_KERNEL_AVX512)
  v.push_back({"avx512", bconv3x3_row_avx512, blinear::blinear_avx512, blinear::pack_token_signs_avx512,
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
                   __builtin_cpu_supports("avx512vl")});
#endif
#if defined(SCALES_KERNEL_NEON)
  v.push_back({"neon", bconv3x3_row_neon, blinear::blinear_neon, blinear::pack_token_signs, true});  // Advanced SIMD is baseline on aarch64
#endif
  return v;
}

}  // namespace

std::span<const KernelVariant> kernel_variants() {
  static const std::vector<KernelVariant> variants = probe();
  return variants;
}

const KernelVariant& select_kernel(std::string_view requested) {
  const auto all = kernel_variants();
  if (requested.empty() || requested == "auto") {
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      if (it->supported) return *it;
  }
  std::string names;
  for (const auto& k : all) {
    if (k.name == requested) {
      if (!k.supported) throw Error("kernel '" + std::string(requested) + "' is not supported by this CPU");
      return k;
    }
    names += (names.empty() ? "" : ", ") + std::string(k.name);
  }
  throw Error("unknown kernel '" + std::string(requested) + "' (this build has: auto, " + names + ")");
}

}  // namespace scales::bconv
