// Reference binary 3x3 convolution: the exact integer +-1 dot products (see bconv/kernel.h for
// the formula). Portable C++, always built, selectable at run time (SCALES_KERNEL=ref); the
// oracle every optimized kernel is tested against.
#pragma once

#include <cstdint>

#include "bconv/kernel.h"

namespace scales::bconv {

// Whole map: out is height x width x c_out int32 (HWC); weight_bits is (C_out, 3, 3, words).
void bconv3x3_ref(const PackedMap& a, const uint64_t* weight_bits, int c_out, int in_channels, int32_t* out);

}  // namespace scales::bconv
