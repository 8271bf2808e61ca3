// Reference binary 3x3 convolution: the exact integer +-1 dot products.
//
//   out[y, x, o] = 9*C - 2 * sum_{kh, kw, w} popcount(A(y+kh-1, x+kw-1)[w] XOR W[o, kh, kw, w])
//
// A is a PackedMap (border = +1), W the model's weight_bits (C_out, 3, 3, words). The result is
// what every optimized kernel must reproduce bit for bit before the float epilogue.
#pragma once

#include <cstdint>
#include <vector>

#include "bconv/pack.h"

namespace scales::bconv {

// out: height x width x c_out int32 (HWC). `in_channels` gives K = 9 * in_channels.
void bconv3x3_ref(const PackedMap& a, const uint64_t* weight_bits, int c_out, int in_channels, int32_t* out);

}  // namespace scales::bconv
