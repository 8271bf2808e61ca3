// The CUDA kernels of the engine, one launcher each (the .cu file named in each group holds it).
// Feature maps are batches of NHWC float maps (n, h, w, c) in device memory; packed sign maps are
// (n, h + 2, w + 2, words) uint64 words with a zero (+1) border, the CPU layout (bconv/pack.h) per
// image. Every launcher checks its launch and runs on the given stream.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace scales::cuda {

// --- pack.cu: sign packing for a binary layer, its spatial factors and channel sums ------------
// packed = signs of x + shift (shift may be null); s[p] = sigmoid(spatial_w . x[p] + spatial_b)
// when spatial_w is not null (else s is not written). Border words are not touched: zero them
// once per buffer (cudaMemsetAsync).
void pack_signs(const float* x, int n, int h, int w, int c, const float* shift, const float* spatial_w, float spatial_b,
                uint64_t* packed, float* s, cudaStream_t st);
// sums[i * c + ch] = sum of x over item i's rectangle rects[i] = {x0, y0, x1, y1} (device
// array), in a fixed order (the same bits whatever the batch). partial: scratch of
// n * sum_bands(h) * c doubles.
int sum_bands(int h);
void channel_sums(const float* x, int n, int h, int w, int c, const int4* rects, double* partial, double* sums,
                  cudaStream_t st);
// cfac[i * c + o] = sigmoid(fc2 @ relu(fc1 @ (sums_i / pixels[i]) + b1) + b2)[o].
void channel_factors(const double* sums, const double* pixels, const float* fc1_w, const float* fc1_b,
                     const float* fc2_w, const float* fc2_b, int n, int c, int hidden, float* cfac, cudaStream_t st);

// --- bconv3x3_ref.cu: the reference binary 3x3 conv (one thread per output value) ---------------
// ybin[(i, y, x), o] = 9 c_in - 2 sum popcount(A XOR W), W as the model file's bits
// (c_out, 3, 3, words): the CPU reference kernel's function.
void bconv3x3_ref(const uint64_t* packed, int n, int h, int w, int words, const uint64_t* wbits, int c_out, int c_in,
                  int32_t* ybin, cudaStream_t st);
// --- epilogue.cu: the SCALES output transform of the reference path -----------------------------
// x = x + ybin * ((gk[o] * s[p]) * cfac[i, o]), then PReLU (s, cfac, prelu may each be null).
void bconv_epilogue(const int32_t* ybin, const float* gk, const float* s, const float* cfac, const float* prelu, int n,
                    int h, int w, int c, float* x, cudaStream_t st);

// --- bconv3x3_bmma.cu: the tensor-core binary 3x3 conv with the epilogue fused ------------------
// Binary MMA (AND + popcount, sm_80 and later, native on sm_90) over an im2col of 32 pixels in
// shared memory; dot = K - 2 popc(a) - 2 popc(w) + 4 popc(a AND w); then the same epilogue as
// bconv_epilogue, bit for bit. wchunks: the weights as (kchunks, c_out, 2) words, kchunks =
// ceil(9 words / 2) 128-bit chunks, zero past 9 words; popc_w[o]: set bits of channel o.
bool bmma_supported(int c_out);  // c_out a multiple of 8 and at most 256
int bmma_kchunks(int words);
void bconv3x3_bmma(const uint64_t* packed, int n, int h, int w, int words, const uint64_t* wchunks, const int* popc_w,
                   int c_out, int c_in, const float* gk, const float* s, const float* cfac, const float* prelu,
                   float* x, cudaStream_t st);

// --- fp_layers.cu: what the FP convs and the network's glue need --------------------------------
// col[(p - p0), ci * 9 + kh * 3 + kw] = x at pixel p's (kh - 1, kw - 1) neighbour (zero outside),
// for pixels p in [p0, p0 + np) of the batch (p = (i * h + y) * w + x); the row length 9c is
// the weight layout (out, in, 3, 3), so a conv is one GEMM against it.
void im2col3x3(const float* x, int n, int h, int w, int c, int64_t p0, int64_t np, float* col, cudaStream_t st);
void add_bias(float* y, const float* bias, int64_t pixels, int c, cudaStream_t st);
// x = x + y, then PReLU when slopes are given (the FP twin's residual conv).
void residual_add(float* x, const float* y, const float* prelu, int64_t pixels, int c, cudaStream_t st);
// out[i, r*y + dy, r*x + dx, ch] = y[i, y, x, ch * r * r + dy * r + dx]
void pixel_shuffle(const float* y, int n, int h, int w, int c, int r, float* out, cudaStream_t st);
// x[p, ch] = x[p, ch] + sign * mean[ch] for 3-channel maps (sign = -1 on input, +1 on output).
void add_rgb_mean(float* x, int64_t pixels, float m0, float m1, float m2, float sign, cudaStream_t st);

}  // namespace scales::cuda
