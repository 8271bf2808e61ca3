// The SCALES parameters of one binary layer (3x3 conv or linear), as the kernels read them; the
// model readers (model/) fill them. Sizes: I input channels, O output channels, H hidden units.
//
//   z = res(x) + ybin * g,   g[p, o] = ((alpha * k[o]) * s[p]) * c[o]      (bconv/epilogue.h)
#pragma once

#include <cstdint>
#include <vector>

namespace scales::bconv {

struct ScalesParams {
  std::vector<uint64_t> weight_bits;  // conv (O, 3, 3, words), linear (O, words); bit 1 = -1, lsb = lowest channel
  std::vector<float> weight_scale;    // k (O)
  std::vector<float> shift;           // (I) or empty: the sign is taken of x + shift
  float alpha = 1.0f;                 // layer-wise scale, when has_alpha
  bool has_alpha = false;
  std::vector<float> spatial_w;  // (I) or empty: spatial re-scaling s[p]
  float spatial_b = 0.0f;
  std::vector<float> fc1_w, fc1_b, fc2_w, fc2_b;  // (H, I), (H), (O, H), (O) or empty: channel re-scaling c[o]
  int hidden = 0;
};

}  // namespace scales::bconv
