// Reference binary 3x3 convolution: the exact integer +-1 dot products of bconv/kernel.h written
// out tap by tap, independent of the GEMM core. The oracle the tests hold every kernel variant's
// conv (and the CUDA kernels) to.
#pragma once

#include <cstdint>

#include "bconv/pack.h"

namespace scales::bconv {

// Whole map: out is height x width x c_out int32 (HWC); weight_bits is (C_out, 3, 3, words).
void bconv3x3_ref(const PackedMap& a, const uint64_t* weight_bits, int c_out, int in_channels, int32_t* out);

}  // namespace scales::bconv
