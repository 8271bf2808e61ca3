// A binary linear's output transform with its FP residual read in place (bconv/epilogue.h's
// epilogue_row_repeat and epilogue_row_mean: z = res(x) + ybin * ((alpha k[o]) s[t]) c[o]), in
// the kernel variants' vector forms: each channel run of x (C = 60 for SwinIR's paper size) is
// whole registers plus one masked one. The generic forms' auto-vectorised clones split 60 into
// 48 + 8 + 4 with a scalar tail, and were a tenth of a SwinIR forward (perf). The same operations
// in the same order, no FMA (-ffp-contract=off): equal to the generic forms bit for bit.
#pragma once

#include <cstdint>

namespace scales::blinear {

// The signature of bconv::epilogue_row_repeat and bconv::epilogue_row_mean.
using ResidualEpilogueFn = void (*)(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                    int width, int channels, const float* x, int in, float* z);

void epilogue_repeat_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z);
void epilogue_mean_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                        int channels, const float* x, int in, float* z);
void epilogue_repeat_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                            int channels, const float* x, int in, float* z);
void epilogue_mean_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z);

}  // namespace scales::blinear
