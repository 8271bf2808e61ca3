#include "kernels/variant.h"

#include <vector>

#include "scales/engine.h"

namespace scales::kernels {

namespace {

std::vector<KernelVariant> probe() {
  std::vector<KernelVariant> v;
  v.push_back({"ref", bgemm::bgemm_ref, bgemm::pack_signs_ref, true});
#if defined(SCALES_KERNEL_AVX2)
  __builtin_cpu_init();
  v.push_back({"avx2", bgemm::bgemm_avx2, bgemm::pack_signs_avx2, static_cast<bool>(__builtin_cpu_supports("avx2")),
               bconv::epilogue_prepare_row_avx2});
  v.back().spatial_factors = bconv::spatial_factors_avx2;
  v.back().layer_norm = fp::layer_norm_rows_avx2;
  v.back().epilogue_repeat = blinear::epilogue_repeat_avx2;
  v.back().epilogue_mean = blinear::epilogue_mean_avx2;
  v.back().epilogue_plain = blinear::epilogue_plain_avx2;
  if (__builtin_cpu_supports("fma")) {  // every AVX2 CPU sold so far has FMA, but it is a separate flag
    v.back().gelu_rows = blinear::gelu_rows_avx2;
    v.back().window_attention = attn::window_avx2;
    v.back().attention_lanes = 8;
  }
#endif
#if defined(SCALES_KERNEL_AVX512)
  v.push_back({"avx512", bgemm::bgemm_avx512, bgemm::pack_signs_avx512,
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
                   __builtin_cpu_supports("avx512vl"),
               bconv::epilogue_prepare_row_avx512, attn::window_avx512, 16});
  v.back().spatial_factors = bconv::spatial_factors_avx512;
  v.back().gelu_rows = blinear::gelu_rows_avx512;
  v.back().layer_norm = fp::layer_norm_rows_avx512;
  v.back().epilogue_repeat = blinear::epilogue_repeat_avx512;
  v.back().epilogue_mean = blinear::epilogue_mean_avx512;
  v.back().epilogue_plain = blinear::epilogue_plain_avx512;
#endif
#if defined(SCALES_KERNEL_NEON)
  // Advanced SIMD is baseline on aarch64.
  v.push_back({"neon", bgemm::bgemm_neon, bgemm::pack_signs_neon, true, bconv::epilogue_prepare_row_neon});
  v.back().spatial_factors = bconv::spatial_factors_neon;
  v.back().window_attention = attn::window_neon;
  v.back().attention_lanes = 4;
  v.back().gelu_rows = blinear::gelu_rows_neon;
  v.back().layer_norm = fp::layer_norm_rows_neon;
  v.back().epilogue_repeat = blinear::epilogue_repeat_neon;
  v.back().epilogue_mean = blinear::epilogue_mean_neon;
  v.back().epilogue_plain = blinear::epilogue_plain_neon;
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

}  // namespace scales::kernels
