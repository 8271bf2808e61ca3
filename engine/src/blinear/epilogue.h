// A binary linear's output transform with its FP residual read in place (bconv/epilogue.h's
// epilogue_row_repeat and epilogue_row_mean: z = res(x) + ybin * ((alpha k[o]) s[t]) c[o]), in
// the kernel variants' vector forms: each channel run of x (C = 60 for SwinIR's paper size) is
// whole registers plus one masked one. The generic forms' auto-vectorised clones split 60 into
// 48 + 8 + 4 with a scalar tail, and were a tenth of a SwinIR forward (perf). The same operations
// in the same order, no FMA (-ffp-contract=off): equal to the generic forms bit for bit.
#pragma once

#include <cstdint>
#include <type_traits>

namespace scales::blinear {

// The signature of bconv::epilogue_row_repeat and bconv::epilogue_row_mean.
using ResidualEpilogueFn = void (*)(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                    int width, int channels, const float* x, int in, float* z);

// A binary linear without a residual: z = 0 + ybin * g, as the generic path forms it (z filled with
// zeros, then bconv::epilogue_row; 0 + v is v, but +0 where v is -0), in one pass.
using PlainEpilogueFn = void (*)(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                                 int channels, float* z);

// For the ISA forms: calls f(S, C) with S = std::bool_constant<s_row given> and C the same for
// cfac, so that each form has its four compile-time instances and picks one per call.
template <class F>
inline void with_parts(const float* s_row, const float* cfac, F&& f) {
  if (s_row && cfac) return f(std::true_type{}, std::true_type{});
  if (s_row) return f(std::true_type{}, std::false_type{});
  if (cfac) return f(std::false_type{}, std::true_type{});
  f(std::false_type{}, std::false_type{});
}

void epilogue_repeat_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z);
void epilogue_mean_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                        int channels, const float* x, int in, float* z);
void epilogue_repeat_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                            int channels, const float* x, int in, float* z);
void epilogue_mean_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z);
void epilogue_repeat_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                          int channels, const float* x, int in, float* z);
void epilogue_mean_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                        int channels, const float* x, int in, float* z);

void epilogue_plain_avx2(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                         int channels, float* z);
void epilogue_plain_avx512(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                           int channels, float* z);
void epilogue_plain_neon(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin, int width,
                         int channels, float* z);

}  // namespace scales::blinear
