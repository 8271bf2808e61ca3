// The int8 matrix product under the arm64 int8 conv (fp/conv3x3_int8_neon.h), on NEON's SDOT
// (Armv8.2 dotprod: four int8 products summed into each 32-bit lane per instruction). Its own
// translation unit, built with +dotprod: callers check Int8NeonConv3x3::available() first, and no
// other code may pick up the instruction from that flag.
#pragma once

#include <cstddef>
#include <cstdint>

namespace scales::fp {

// The right-hand matrix is packed in panels of 8 columns (kGemmS8Cols): panel j holds columns
// [8j, 8j + 8) as k / 4 groups of 32 bytes, group g being two halves of four columns, each column's
// four bytes rows [4g, 4g + 4): byte ((g * 2 + h) * 4 + c) * 4 + r is B[4g + r][8j + 4h + c].
// One SDOT lane then multiplies four rows of one pixel by four columns.
constexpr int kGemmS8Rows = 8;    // pixels per tile
constexpr int kGemmS8Cols = 8;    // columns (outputs) per panel
constexpr int kGemmS8Depth = 16;  // k is a multiple of this (zero rows pad it)

// For rows i < m and columns o < n:
//     c[i * ldc + o] = scale[o] * (sum over r < k of a[i * k + r] * B[r][o]) + bias[o]
// a: rows of k int8 (k a multiple of kGemmS8Depth), at least m rounded up to kGemmS8Rows of them
// (the rows past m are read, not stored); b: ceil(n / 8) panels; scale, bias: ceil(n / 8) * 8
// floats. The integer sums are exact (k * 127 * 127 < 2^31 for k < 133,000).
void gemm_s8_neon(const int8_t* a, int m, int k, const int8_t* b, int n, const float* scale, const float* bias,
                  float* c, size_t ldc);

}  // namespace scales::fp
