#include "bconv/epilogue.h"

#include <algorithm>
#include <cmath>

#include "bconv/sigmoid.h"
#include "kernels/isa_clones.h"

namespace scales::bconv {

namespace {
// The row functions run once per pixel per layer, so they are built for several ISAs from this
// one source (GCC picks the clone at load time, kernels/isa_clones.h). The results do not depend
// on the clone: this file is built with -ffp-contract=off (GCC would otherwise fuse a * b + c
// into an FMA in the clones that have one) and every reduction has a fixed order below.

// sum_c w[c] * x[c] as 16 interleaved partial sums folded pairwise: vectorizable, and the same
// order whatever the vector width.
inline float dot16(const float* w, const float* x, int n) {
  float acc[16] = {};
  int c = 0;
  for (; c + 16 <= n; c += 16)
    for (int l = 0; l < 16; ++l) acc[l] += w[c + l] * x[c + l];
  for (int l = 0; c < n; ++c, ++l) acc[l] += w[c] * x[c];
  // The fold written out level by level: as one loop over halves GCC kept it scalar, through
  // the stack, and it was most of spatial_factors' time.
  for (int l = 0; l < 8; ++l) acc[l] += acc[l + 8];
  for (int l = 0; l < 4; ++l) acc[l] += acc[l + 4];
  for (int l = 0; l < 2; ++l) acc[l] += acc[l + 2];
  return acc[0] + acc[1];
}
}  // namespace

std::vector<float> channel_factors(const ScalesParams& p, const std::vector<double>& sums, double pixels) {
  const int out = static_cast<int>(p.weight_scale.size()), in = static_cast<int>(sums.size());
  std::vector<float> c(out, 1.0f);
  if (p.fc1_w.empty()) return c;
  std::vector<float> m(in), h(p.hidden);
  for (int i = 0; i < in; ++i) m[i] = static_cast<float>(sums[i] / pixels);
  for (int j = 0; j < p.hidden; ++j) {
    float a = p.fc1_b[j];
    for (int i = 0; i < in; ++i) a += p.fc1_w[static_cast<size_t>(j) * in + i] * m[i];
    h[j] = a > 0.0f ? a : 0.0f;
  }
  for (int o = 0; o < out; ++o) {
    float a = p.fc2_b[o];
    for (int j = 0; j < p.hidden; ++j) a += p.fc2_w[static_cast<size_t>(o) * p.hidden + j] * h[j];
    c[o] = sigmoid(a);
  }
  return c;
}

std::vector<float> scale_factors(const ScalesParams& p) {
  std::vector<float> gk(p.weight_scale.size());
  for (size_t o = 0; o < gk.size(); ++o) gk[o] = p.has_alpha ? p.alpha * p.weight_scale[o] : p.weight_scale[o];
  return gk;
}

SCALES_ISA_CLONES void epilogue_row(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                    const float* prelu_slope, int width, int channels, float* x_row) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    float* zp = x_row + static_cast<size_t>(p) * channels;
    const float s = s_row ? s_row[p] : 1.0f;
    for (int o = 0; o < channels; ++o) {
      float g = gk[o];
      if (s_row) g = g * s;
      if (cfac) g = g * cfac[o];
      zp[o] = zp[o] + static_cast<float>(yp[o]) * g;
    }
    if (prelu_slope)
      for (int o = 0; o < channels; ++o)
        if (zp[o] < 0.0f) zp[o] = prelu_slope[o] * zp[o];
  }
}

SCALES_ISA_CLONES void epilogue_row_repeat(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                           int width, int channels, const float* x, int in, float* z) {
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const float s = s_row ? s_row[p] : 1.0f;
    for (int r = 0; r < channels; r += in)  // r .. r + in - 1: one copy of x
      for (int i = 0; i < in; ++i) {
        const int o = r + i;
        float g = gk[o];
        if (s_row) g = g * s;
        if (cfac) g = g * cfac[o];
        zp[o] = xp[i] + static_cast<float>(yp[o]) * g;
      }
  }
}

SCALES_ISA_CLONES void epilogue_row_mean(const float* gk, const float* s_row, const float* cfac, const int32_t* ybin,
                                         int width, int channels, const float* x, int in, float* z) {
  const int k = in / channels;
  const float kf = static_cast<float>(k);
  // Blocks of 64 outputs, the chunks added into `acc` one after the other: every loop runs over
  // contiguous channels, so each vectorises (a loop over k inside the channel loop did not).
  constexpr int kBlock = 64;
  float acc[kBlock];
  for (int p = 0; p < width; ++p) {
    const int32_t* yp = ybin + static_cast<size_t>(p) * channels;
    const float* xp = x + static_cast<size_t>(p) * in;
    float* zp = z + static_cast<size_t>(p) * channels;
    const float s = s_row ? s_row[p] : 1.0f;
    for (int o0 = 0; o0 < channels; o0 += kBlock) {
      const int nb = std::min(kBlock, channels - o0);
      for (int o = 0; o < nb; ++o) acc[o] = 0.0f;
      for (int j = 0; j < k; ++j) {
        const float* xj = xp + static_cast<size_t>(j) * channels + o0;
        for (int o = 0; o < nb; ++o) acc[o] = acc[o] + xj[o];
      }
      for (int o = 0; o < nb; ++o) {
        float g = gk[o0 + o];
        if (s_row) g = g * s;
        if (cfac) g = g * cfac[o0 + o];
        zp[o0 + o] = acc[o] / kf + static_cast<float>(yp[o0 + o]) * g;
      }
    }
  }
}

SCALES_ISA_CLONES void spatial_factors(const float* w, float b, const float* x, int width, int channels, float* s) {
  for (int p = 0; p < width; ++p) s[p] = sigmoid(dot16(w, x + static_cast<size_t>(p) * channels, channels) + b);
}

// Adds each channel's values over the row to sums[c], pixels in order. Channels are the outer loop
// (blocks of 32, then 8, 4, 1) so a block's running sums stay in vector registers for the whole
// row; the pixel-outer form loaded and stored all C sums per pixel, and was the largest item of
// the body's profile. Each channel still adds its pixels in pixel order: the sums are the same
// to the last bit.
template <int N>
inline void add_channel_block(const float* x, int width, int channels, int c0, double* sums) {
  double acc[N];
  for (int l = 0; l < N; ++l) acc[l] = sums[c0 + l];
  for (int p = 0; p < width; ++p) {
    const float* xp = x + static_cast<size_t>(p) * channels + c0;
    for (int l = 0; l < N; ++l) acc[l] += xp[l];
  }
  for (int l = 0; l < N; ++l) sums[c0 + l] = acc[l];
}

SCALES_ISA_CLONES void channel_sums_row(const float* x, int width, int channels, double* sums) {
  int c0 = 0;
  for (; c0 + 32 <= channels; c0 += 32) add_channel_block<32>(x, width, channels, c0, sums);
  for (; c0 + 8 <= channels; c0 += 8) add_channel_block<8>(x, width, channels, c0, sums);
  // SwinIR's 60 and 180 channels end in 4: one vector block instead of four scalar chains.
  for (; c0 + 4 <= channels; c0 += 4) add_channel_block<4>(x, width, channels, c0, sums);
  for (; c0 < channels; ++c0) add_channel_block<1>(x, width, channels, c0, sums);
}

void prepare_row(const ScalesParams& next, bgemm::PackFn pack, const float* x_row, int width, int channels,
                 uint64_t* packed_row, float* s_row, double* sums) {
  pack(x_row, width, channels, next.shift.empty() ? nullptr : next.shift.data(), packed_row);
  if (!next.spatial_w.empty()) spatial_factors(next.spatial_w.data(), next.spatial_b, x_row, width, channels, s_row);
  if (!next.fc1_w.empty()) channel_sums_row(x_row, width, channels, sums);
}

}  // namespace scales::bconv
