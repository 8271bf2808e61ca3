// The SCALES output transform of one value, shared by the reference epilogue (epilogue.cu) and
// the fused tensor-core kernel (bconv3x3_bmma.cu) so both round the same way, and the same way
// as the CPU (bconv/epilogue.cc): g = (gk * s) * c, z = x + y * g, each step rounded (no FMA).
#pragma once

#include <cstdint>

namespace scales::cuda {

__device__ __forceinline__ float scales_output(float x, int32_t y, float gk, const float* s, int64_t pixel,
                                               const float* cfac, int64_t item_c, int o, const float* prelu) {
  float g = gk;
  if (s) g = __fmul_rn(g, s[pixel]);
  if (cfac) g = __fmul_rn(g, cfac[item_c + o]);
  float z = __fadd_rn(x, __fmul_rn(static_cast<float>(y), g));
  if (prelu && z < 0.0f) z = __fmul_rn(prelu[o], z);
  return z;
}

}  // namespace scales::cuda
