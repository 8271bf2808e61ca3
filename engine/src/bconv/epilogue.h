// The SCALES output transform of a binary residual conv, fused with the preparation of the next
// layer's input, one row at a time so a row leaves the cache finished.
//
//   z[p, o] = x[p, o] + ybin[p, o] * g[p, o]                           then PReLU if the block has one
//   g[p, o] = ((alpha * k[o]) * s[p]) * c[o]                           alpha, s, c each only when present
//   s[p]    = sigmoid(sum_c spatial_w[c] * x[p, c] + spatial_b)        spatial re-scaling
//   c[o]    = sigmoid(fc2 @ relu(fc1 @ mean_p(x) + b1) + b2)[o]        channel re-scaling
//
// and, for the next binary layer (its x is this z): the sign bits of z + shift, its s[p], and the
// per-channel sums of z that give its mean. The float products are formed in the order above,
// the order of the PyTorch model (models/scales_train/layers.py), so a layer matches it to the last
// bit given the same integer sums.
#pragma once

#include <cstdint>
#include <vector>

#include "bconv/params.h"
#include "bgemm/bgemm.h"

namespace scales::bconv {

// Per-image channel factors c[o] (O = weight_scale's size) from the per-channel sums of the layer
// input (I = sums' size) over `pixels` pixels or tokens; all ones if the layer has no channel
// re-scaling.
std::vector<float> channel_factors(const ScalesParams& p, const std::vector<double>& sums, double pixels);

// gk[o] = alpha * k[o] (or k[o] without a layer scale).
std::vector<float> scale_factors(const ScalesParams& p);

// One row of `width` pixels, C channels: x_row is updated in place to z (then PReLU when
// prelu_slope is not null). s_row: this layer's s[p] or null; cfac: c[o] or null.
void epilogue_row(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, const float* prelu_slope,
                  int width, int channels, float* x_row);

// epilogue_row for a binary linear whose FP residual is its input repeated: z[t, r*I + i] =
// x[t, i] + ybin[t, r*I + i] * g[t, r*I + i] for `width` tokens of C = R*I outputs, I = `in`
// (R = 1: x itself), written to z without first copying x there; equal to copying x R times
// and running epilogue_row (no PReLU), bit for bit.
void epilogue_row_repeat(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                         int channels, const float* x, int in, float* z);

// The same for a binary linear that narrows (C outputs, I = K*C inputs): the FP residual is the
// mean of x's K consecutive chunks of C, z[t, o] = (sum_k x[t, k*C + o]) / K + ybin[t, o] *
// g[t, o], summed in k order in float; equal to writing that mean to z and running
// epilogue_row, bit for bit, without the pass that wrote it.
void epilogue_row_mean(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                       int channels, const float* x, int in, float* z);

// s[p] = sigmoid(sum_c w[c] * x[p, c] + b) for `width` pixels (or tokens) of C channels: the
// spatial factors as prepare_row forms them (SwinIR's binary linears use it too).
void spatial_factors(const float* w, float b, const float* x, int width, int channels, float* s);

// Prepares one row of x as the input of binary layer `next`: packed sign words (width x words,
// no border) by `pack` (the kernel variant's sign packer, bgemm/bgemm.h; every variant packs
// bit for bit alike), s[p] into s_row when next has spatial re-scaling, and adds x's channel sums
// to `sums` when next has channel re-scaling.
void prepare_row(const ScalesParams& next, bgemm::PackFn pack, const float* x_row, int width, int channels,
                 uint64_t* packed_row, float* s_row, double* sums);

// Adds each channel's values over the row's `width` pixels to sums[c], pixels in order.
void channel_sums_row(const float* x_row, int width, int channels, double* sums);

// epilogue_row, then prepare_row(*next, ...) on the result when next is not null, in one pass
// over the row: the kernel variants' fused form (bconv/epilogue_<isa>.cc; equal bit for bit).
using EpiloguePrepareFn = void (*)(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                   const float* prelu_slope, int width, int channels, float* x_row,
                                   const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums);
void epilogue_prepare_row_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                               const float* prelu_slope, int width, int channels, float* x_row,
                               const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums);
void epilogue_prepare_row_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                 const float* prelu_slope, int width, int channels, float* x_row,
                                 const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums);
void epilogue_prepare_row_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                               const float* prelu_slope, int width, int channels, float* x_row,
                               const ScalesParams* next, uint64_t* packed_row, float* s_next, double* sums);

// spatial_factors in a kernel variant's vector form (16, 8 or 4 tokens at a time), equal to it bit
// for bit: SwinIR's binary linears form s[t] of their input this way (the conv body gets its
// factors from the fused epilogue above instead).
using SpatialFactorsFn = void (*)(const float* w, float b, const float* x, int width, int channels, float* s);
void spatial_factors_avx2(const float* w, float b, const float* x, int width, int channels, float* s);
void spatial_factors_avx512(const float* w, float b, const float* x, int width, int channels, float* s);
void spatial_factors_neon(const float* w, float b, const float* x, int width, int channels, float* s);

}  // namespace scales::bconv
