// What one row of the fused epilogue reads besides the pixels: this layer's factors and the next
// layer's preparation, as pointers that are null where a part is absent (bconv/epilogue.h). The
// ISA forms (epilogue_avx512.cc, epilogue_avx2.cc, epilogue_neon.cc) all start from it.
#pragma once

#include "bconv/params.h"

namespace scales::bconv {

struct RowArgs {
  const float *gk, *s_row, *cfac, *prelu, *shift, *sw;
  bool next, sums;
  float spatial_b;

  // Every part but PReLU present: each SCALES conv of EDSR's body but the last, the case the
  // AVX2 and NEON block forms compile on its own.
  bool all_parts() const { return s_row && cfac && shift && sw && next && sums; }
};

inline RowArgs row_args(const float* gk, const float* s_row, const float* cfac, const float* prelu_slope,
                        const ScalesParams* next) {
  return RowArgs{gk,
                 s_row,
                 cfac,
                 prelu_slope,
                 next && !next->shift.empty() ? next->shift.data() : nullptr,
                 next && !next->spatial_w.empty() ? next->spatial_w.data() : nullptr,
                 next != nullptr,
                 next && !next->fc1_w.empty(),
                 next ? next->spatial_b : 0.0f};
}

}  // namespace scales::bconv
