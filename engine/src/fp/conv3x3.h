// FP 3x3 convolution (stride 1, zero padding 1, bias) through oneDNN on NHWC float maps: the
// head, upsampler and tail of SCALES-EDSR and the residual convs of its FP twin.
//
// A conv runs in fp32, or in the cheaper precision its model file records (bf16 or int8,
// fp/conv_params.h) when this CPU has a native kernel for it (oneDNN's dispatcher decides:
// AVX512-BF16 for bf16; VNNI or AVX2 for int8 on x86; on arm64, int8 only with 512-bit SVE), or
// where the engine has its own kernel for it (int8 and bf16 on arm64 with NEON dot products:
// fp/conv3x3_neon.h); else in fp32. A wide conv (both sides at least 32 channels) has a faster fp32
// form, Winograd's F(4x4, 3x3) (fp/conv3x3_winograd.h): it runs that, and on x86 it runs it instead
// of a recorded bf16 or of int8 without VNNI too, which it outran. Where oneDNN's fp32 conv is a reference one (arm64:
// Debian's oneDNN 2.6.3 runs it on its reference GEMM, docs/engine.md) and the build has OpenBLAS, fp32 runs as im2col
// + sgemm instead (fp/conv3x3_blas.h). Inputs and outputs are float either way: a low-precision conv converts its input
// one band of rows at a time, so the converted copy stays in cache and small.
//
// Primitives and the weights reordered into oneDNN's preferred layout are cached per shape, under
// a mutex, so concurrent calls are safe.
#pragma once

#include <memory>

#include "fp/conv3x3_blas.h"
#include "fp/conv3x3_narrow.h"
#include "fp/conv3x3_neon.h"
#include "fp/conv3x3_winograd.h"
#include "fp/conv_params.h"

namespace scales::fp {

class Conv3x3 {
 public:
  explicit Conv3x3(const ConvParams& c);
  ~Conv3x3();
  int in() const { return in_; }
  int out() const { return out_; }
  const ConvParams& params() const;  // the weights as given (a device backend uploads them)
  // What run() computes in when low precision is allowed: the recorded precision if this CPU runs
  // it natively, else fp32; always fp32 for a narrow conv (out <= kNarrowOut, fp/conv3x3_narrow.h).
  Precision precision() const { return native_; }
  // Which code runs the fp32 form: "narrow" (fp/conv3x3_narrow.h), "winograd"
  // (fp/conv3x3_winograd.h; run_rows_of_band, which sees only a band of the input, runs the next
  // form down instead), "blas" (fp/conv3x3_blas.h) or "onednn". SCALES_FP_CONV=onednn in the
  // environment keeps oneDNN's direct conv even where another form is faster, and
  // SCALES_FP_CONV=direct keeps every form but Winograd's (to time one against the other).
  const char* fp32_path() const;
  // Which code runs the recorded low precision: "neon" (SDOT or BFDOT, fp/conv3x3_neon.h),
  // "onednn", or "none" where precision() is fp32. SCALES_FP_CONV=onednn keeps oneDNN here too.
  const char* low_precision_path() const;
  // How many band shapes have had a primitive built: a test watches the cache keep its hot shapes.
  size_t primitives_built() const;

  // src: height x width x in, dst: height x width x out; `threads` OpenMP threads for oneDNN.
  // low_precision = false runs fp32 whatever the model file says (the engine's reference path).
  void run(const float* src, int height, int width, float* dst, int threads, bool low_precision = true) const;
  // Output rows [row0, row1) of the same conv over the whole map, into dst ((row1 - row0) x width
  // x out): a caller that consumes the output band by band (the upsampler's pixel shuffle) never
  // holds the whole output.
  void run_rows(const float* src, int height, int width, int row0, int row1, float* dst, int threads,
                bool low_precision = true) const;
  // The same, reading only the input rows the band needs, from `band`: input rows
  // [max(0, row0 - 1), min(height, row1 + 1)) of the height-row map, the rows outside it being
  // the zero padding. A caller that produces the input band by band (the upsampler followed by
  // the tail, backend/cpu/conv_shuffle.cc) never holds the whole input either.
  void run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst, int threads,
                        bool low_precision = true) const;

 private:
  struct Impl;
  int in_, out_;
  Precision native_ = Precision::fp32;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<NarrowConv3x3> narrow_;      // out <= kNarrowOut: the engine's own kernel, in fp32
  std::unique_ptr<WinogradConv3x3> winograd_;  // wide convs (WinogradConv3x3::pays): fp32 through it
  std::unique_ptr<BlasConv3x3> blas_;          // oneDNN's fp32 conv is a reference one: fp32 through it
  std::unique_ptr<NeonConv3x3> neon_;          // arm64 with the recorded precision's dot product: it through it
};

}  // namespace scales::fp
