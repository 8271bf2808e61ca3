// The low-precision matrix products under the arm64 FP convs (fp/conv3x3_neon.h): int8 on NEON's
// SDOT (Armv8.2 dotprod: four int8 products summed into each 32-bit lane) and bf16 on BFDOT (Armv8.6
// BF16: two bf16 products summed into each fp32 lane). Each is its own translation unit, built with
// its extension (+dotprod, +bf16): callers check NeonConv3x3::available() first, and no other code
// may pick up those instructions from the flags.
//
// Both multiply rows of im2col windows (pixels) by the conv's weights, packed in panels of 8
// columns (outputs): panel j holds columns [8j, 8j + 8) as groups of G rows (G = 4 for int8, 2 for
// bf16), each group two halves of four columns, each column's G values in a row:
//     element j * 8k + ((g * 2 + h) * 4 + c) * G + r  is  B[g * G + r][8j + 4h + c].
// One dot-product lane then multiplies G values of one pixel by four columns, and a tile is 8
// pixels by one panel (16 accumulator registers).
#pragma once

#include <cstddef>
#include <cstdint>

namespace scales::fp {

constexpr int kNeonGemmRows = 8;  // pixels per tile
constexpr int kNeonGemmCols = 8;  // columns (outputs) per panel

// Which element of the packed matrix holds B[r][o], for group size `g` and depth k.
inline size_t neon_gemm_packed_index(int r, int o, int k, int g) {
  const int j = o / kNeonGemmCols, h = (o % kNeonGemmCols) / 4, c = o % 4;
  return static_cast<size_t>(j) * k * kNeonGemmCols + ((static_cast<size_t>(r / g) * 2 + h) * 4 + c) * g + r % g;
}

// int8 (G = 4): k a multiple of kGemmS8Depth. For rows i < m and columns o < n:
//     c[i * ldc + o] = scale[o] * (sum over r < k of a[i * k + r] * B[r][o]) + bias[o]
// The integer sums are exact (k * 127 * 127 < 2^31 for k < 133,000).
constexpr int kGemmS8Depth = 16;
void gemm_s8_neon(const int8_t* a, int m, int k, const int8_t* b, int n, const float* scale, const float* bias,
                  float* c, size_t ldc);

// bf16 (G = 2), values stored as their 16 bits: k a multiple of kGemmBf16Depth. For rows i < m and
// columns o < n: c[i * ldc + o] = (sum over r < k of a[i * k + r] * B[r][o]) + bias[o], the sums in
// fp32 with BFDOT's rounding.
constexpr int kGemmBf16Depth = 8;
void gemm_bf16_neon(const uint16_t* a, int m, int k, const uint16_t* b, int n, const float* bias, float* c, size_t ldc);

// For both: a holds at least m rounded up to kNeonGemmRows rows (those past m are read, not
// stored); b holds ceil(n / 8) panels; scale and bias hold ceil(n / 8) * 8 floats.

}  // namespace scales::fp
