// Sign packing, spatial factors and channel statistics of a binary layer's input (kernels.h).
#include "cuda/check.h"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kSumRows = 8;

// One warp per pixel: lane l reads channels l, l + 32, ... (coalesced), a ballot forms each
// 32-channel half word (bit j = channel 32 k + j: the CPU's lsb-first order), lane 0 stores it.
__global__ void pack_kernel(const float* __restrict__ x, int n, int h, int w, int c, const float* __restrict__ shift,
                            const float* __restrict__ spatial_w, float spatial_b, uint64_t* __restrict__ packed,
                            float* __restrict__ s) {
  const int lane = threadIdx.x & 31;
  const int64_t pixel = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  const int64_t total = static_cast<int64_t>(n) * h * w;
  if (pixel >= total) return;
  const int xx = static_cast<int>(pixel % w);
  const int yy = static_cast<int>((pixel / w) % h);
  const int i = static_cast<int>(pixel / (static_cast<int64_t>(w) * h));
  const float* xp = x + pixel * c;
  const int words = (c + 63) / 64;
  uint32_t* dst = reinterpret_cast<uint32_t*>(
      packed + ((static_cast<int64_t>(i) * (h + 2) + yy + 1) * (w + 2) + xx + 1) * words);
  float dot = 0.0f;
  for (int k = 0; k < 2 * words; ++k) {
    const int ch = 32 * k + lane;
    bool neg = false;
    if (ch < c) {
      const float v = xp[ch];
      neg = (shift ? __fadd_rn(v, shift[ch]) : v) < 0.0f;
      if (spatial_w) dot = __fmaf_rn(spatial_w[ch], v, dot);
    }
    const unsigned bits = __ballot_sync(0xffffffffu, neg);
    if (lane == 0) dst[k] = bits;
  }
  if (spatial_w) {
    for (int off = 16; off > 0; off >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, off);
    if (lane == 0) s[pixel] = 1.0f / (1.0f + expf(-(dot + spatial_b)));
  }
}

// Two stages, so the sums do not depend on scheduling (a batch gives each tile the bits it gets
// alone): one block per (item, 8-row band) writes the band's sums, thread ch summing channel ch
// (consecutive threads read consecutive floats); then one thread per (item, channel) adds the
// bands in order.
__global__ void band_sums_kernel(const float* __restrict__ x, int h, int w, int c, const int4* __restrict__ rects,
                                 double* __restrict__ partial) {
  const int i = blockIdx.y, band = blockIdx.x, bands = gridDim.x;
  const int4 r = rects[i];
  const int y0 = max(r.y, band * kSumRows);
  const int y1 = min(r.w, (band + 1) * kSumRows);
  for (int ch = threadIdx.x; ch < c; ch += blockDim.x) {
    double acc = 0.0;
    for (int y = y0; y < y1; ++y) {
      const float* row = x + ((static_cast<int64_t>(i) * h + y) * w) * c;
      for (int xx = r.x; xx < r.z; ++xx) acc += row[static_cast<int64_t>(xx) * c + ch];
    }
    partial[(static_cast<int64_t>(i) * bands + band) * c + ch] = acc;
  }
}

__global__ void fold_bands_kernel(const double* __restrict__ partial, int n, int bands, int c,
                                  double* __restrict__ sums) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(n) * c) return;
  const int64_t i = idx / c, ch = idx % c;
  double acc = 0.0;
  for (int b = 0; b < bands; ++b) acc += partial[(i * bands + b) * c + ch];
  sums[idx] = acc;
}

// One block per item, one thread per hidden unit then per output channel: the CPU's loop order.
__global__ void factors_kernel(const double* __restrict__ sums, const double* __restrict__ pixels,
                               const float* __restrict__ fc1_w, const float* __restrict__ fc1_b,
                               const float* __restrict__ fc2_w, const float* __restrict__ fc2_b, int c, int hidden,
                               float* __restrict__ cfac) {
  extern __shared__ float sh[];  // m (c), then hidden (hidden)
  float* m = sh;
  float* hid = sh + c;
  const int i = blockIdx.x;
  for (int ch = threadIdx.x; ch < c; ch += blockDim.x)
    m[ch] = static_cast<float>(sums[static_cast<int64_t>(i) * c + ch] / pixels[i]);
  __syncthreads();
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
    float a = fc1_b[j];
    for (int ch = 0; ch < c; ++ch) a = __fadd_rn(a, __fmul_rn(fc1_w[static_cast<int64_t>(j) * c + ch], m[ch]));
    hid[j] = a > 0.0f ? a : 0.0f;
  }
  __syncthreads();
  for (int o = threadIdx.x; o < c; o += blockDim.x) {
    float a = fc2_b[o];
    for (int j = 0; j < hidden; ++j) a = __fadd_rn(a, __fmul_rn(fc2_w[static_cast<int64_t>(o) * hidden + j], hid[j]));
    cfac[static_cast<int64_t>(i) * c + o] = 1.0f / (1.0f + expf(-a));
  }
}

}  // namespace

void pack_signs(const float* x, int n, int h, int w, int c, const float* shift, const float* spatial_w,
                float spatial_b, uint64_t* packed, float* s, cudaStream_t st) {
  const int64_t pixels = static_cast<int64_t>(n) * h * w;
  const int blocks = static_cast<int>((pixels + kWarpsPerBlock - 1) / kWarpsPerBlock);
  pack_kernel<<<blocks, 32 * kWarpsPerBlock, 0, st>>>(x, n, h, w, c, shift, spatial_w, spatial_b, packed, s);
  SCALES_CUDA_LAUNCH();
}

int sum_bands(int h) { return (h + kSumRows - 1) / kSumRows; }

void channel_sums(const float* x, int n, int h, int w, int c, const int4* rects, double* partial, double* sums,
                  cudaStream_t st) {
  const dim3 grid(sum_bands(h), n);
  band_sums_kernel<<<grid, c < 256 ? ((c + 31) / 32) * 32 : 256, 0, st>>>(x, h, w, c, rects, partial);
  SCALES_CUDA_LAUNCH();
  const int64_t total = static_cast<int64_t>(n) * c;
  fold_bands_kernel<<<static_cast<unsigned>((total + 255) / 256), 256, 0, st>>>(partial, n, sum_bands(h), c, sums);
  SCALES_CUDA_LAUNCH();
}

void channel_factors(const double* sums, const double* pixels, const float* fc1_w, const float* fc1_b,
                     const float* fc2_w, const float* fc2_b, int n, int c, int hidden, float* cfac, cudaStream_t st) {
  factors_kernel<<<n, 128, (c + hidden) * sizeof(float), st>>>(sums, pixels, fc1_w, fc1_b, fc2_w, fc2_b, c, hidden,
                                                               cfac);
  SCALES_CUDA_LAUNCH();
}

}  // namespace scales::cuda
