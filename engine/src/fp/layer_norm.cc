// layer_norm_rows, the generic form: the order of layer_norm.h spelled out with 16 scalar
// partial sums (what the vector forms keep in registers); built with -ffp-contract=off.
#include "fp/layer_norm.h"

#include <cmath>

#include "kernels/isa_clones.h"

namespace scales::fp {

namespace {

// The folded sum of f(v[i]) over i < c, in layer_norm.h's order.
template <class F>
float folded_sum(const float* v, int c, F f) {
  float acc[16] = {};
  for (int i = 0; i < c; ++i) acc[i % 16] = acc[i % 16] + f(v[i]);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] = acc[l] + acc[l + w];
  return acc[0];
}

}  // namespace

void layer_norm_rows(const float* x, int64_t rows, int c, const float* gamma, const float* beta, float* y,
                     float* stats) {
  const float cf = static_cast<float>(c);
  for (int64_t t = 0; t < rows; ++t) {
    const float* xt = x + t * c;
    float* yt = y + t * c;
    const float mean = folded_sum(xt, c, [](float v) { return v; }) / cf;
    const float var = folded_sum(xt, c, [mean](float v) { return (v - mean) * (v - mean); }) / cf;
    const float rstd = 1.0f / std::sqrt(var + kLayerNormEps);
    if (stats) stats[2 * t] = mean, stats[2 * t + 1] = rstd;
    for (int i = 0; i < c; ++i) yt[i] = ((xt[i] - mean) * rstd) * gamma[i] + beta[i];
  }
}

// Built for several ISAs from this source (GCC picks at load time), as the epilogue rows are;
// elementwise, so every clone gives the same bits.
SCALES_ISA_CLONES
void layer_norm_apply(const float* x, int64_t rows, int c, const float* stats, const float* gamma, const float* beta,
                      float* y) {
  for (int64_t t = 0; t < rows; ++t) {
    const float* xt = x + t * c;
    float* yt = y + t * c;
    const float mean = stats[2 * t], rstd = stats[2 * t + 1];
    for (int i = 0; i < c; ++i) yt[i] = ((xt[i] - mean) * rstd) * gamma[i] + beta[i];
  }
}

}  // namespace scales::fp
