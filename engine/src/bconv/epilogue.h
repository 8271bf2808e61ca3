// The SCALES output transform of a binary residual conv, applied to the exact integer sums:
//
//   z[p, o] = x[p, o] + ybin[p, o] * g[p, o]
//   g[p, o] = ((alpha * k[o]) * s[p]) * c[o]         alpha, s, c each only when present
//   s[p]    = sigmoid(sum_c spatial_w[c] * x[p, c] + spatial_b)          (spatial re-scaling)
//   c[o]    = sigmoid(fc2 @ relu(fc1 @ mean_p(x) + b1) + b2)[o]          (channel re-scaling)
//
// The float products are formed in the order above, the order of the PyTorch model
// (models/scales_sr/layers.py), so the binary part of a layer matches it to the last bit.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_file.h"

namespace scales::bconv {

// Per-image channel factors c[o] (size C_out) from the layer input x (HWC); all ones if the
// layer has no channel re-scaling.
std::vector<float> channel_factors(const model::ResConv& rc, const float* x, int pixels, int channels);

// x, z: pixels x channels HWC (z may alias x); ybin: pixels x channels.
void apply_epilogue(const model::ResConv& rc, const float* x, const int32_t* ybin, const std::vector<float>& cfac,
                    int pixels, int channels, float* z);

}  // namespace scales::bconv
