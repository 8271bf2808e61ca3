// Where the tensor-core conv (bconv3x3_bmma.cu) puts and finds every word: shared by the kernel
// and a host emulation of it (tests/cuda/test_bmma_layout.cc, which runs without a GPU), so the
// index arithmetic is checked against the CPU reference conv on any machine and only the
// tensor-core instruction itself waits for a GPU.
//
// A block computes kPixels consecutive output pixels of one row. Its shared-memory im2col holds,
// per pixel, the 9 x words sign words of its 3x3 neighbourhood (tap-major: word k = tap * words +
// w, tap = kh * 3 + kw), padded to kchunks 128-bit chunks and stored chunk-major
// [chunk][pixel][2 words]. WMMA's m8n8k128 operands are then contiguous: A (8 pixels x 128 bits,
// row-major) at a_operand(), B (128 bits x 8 output channels, column-major) at b_operand() in the
// weights' [chunk][channel][2 words] layout (bmma_weights.h), both with ldm = 128 bits.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define SCALES_HD __host__ __device__ __forceinline__
#else
#define SCALES_HD inline
#endif

namespace scales::cuda::bmma {

constexpr int kPixels = 32;  // output pixels per block (4 warps x 8)

SCALES_HD int kchunks(int words) { return (9 * words + 1) / 2; }

// im2col word k of block pixel p, in uint64 units from the im2col's start.
SCALES_HD size_t a_index(int k, int p) { return (static_cast<size_t>(k >> 1) * kPixels + p) * 2 + (k & 1); }

// The packed-map word (offset in one image's (h + 2, w + 2, words) map) that im2col word k of
// output pixel (row, x) reads; -1 when it is padding (k past 9 words, or x past the row).
SCALES_HD int64_t source_index(int k, int row, int x, int w, int words) {
  if (k >= 9 * words || x >= w) return -1;
  const int tap = k / words, wi = k % words;
  // Output (row, x) reads (row + kh - 1, x + kw - 1), stored one row and column further in.
  return ((static_cast<int64_t>(row) + tap / 3) * (w + 2) + x + tap % 3) * words + wi;
}

// The uint64 offsets of a warp's A operand (its 8 pixels, chunk kc) and of B (output channels
// 8 nt .. 8 nt + 7, chunk kc).
SCALES_HD size_t a_operand(int kc, int warp) { return (static_cast<size_t>(kc) * kPixels + warp * 8) * 2; }
SCALES_HD size_t b_operand(int kc, int nt, int c_out) { return (static_cast<size_t>(kc) * c_out + nt * 8) * 2; }

// Where word k of output channel o's im2col row lives in the weights (B operand of chunk k / 2).
SCALES_HD size_t b_index(int k, int o, int c_out) { return (static_cast<size_t>(k >> 1) * c_out + o) * 2 + (k & 1); }

// The +-1 dot product from AND counts: sum a*w over K positions where a bit 1 means -1, zero
// padding bits in both operands dropping out of all three counts.
SCALES_HD int32_t dot_from_and(int k_bits, int popc_a, int popc_w, int popc_and) {
  return k_bits - 2 * popc_a - 2 * popc_w + 4 * popc_and;
}

}  // namespace scales::cuda::bmma
