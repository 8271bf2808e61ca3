// The FP side of the network on the GPU: im2col for the cuBLAS convs, bias, residual, pixel
// shuffle and the RGB mean (kernels.h). All elementwise, one thread per value.
#include "cuda/check.h"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {

constexpr int kThreads = 256;
unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void im2col_kernel(const float* __restrict__ x, int h, int w, int c, int64_t p0, int64_t np,
                              float* __restrict__ col) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int k9 = 9 * c;
  if (idx >= np * k9) return;
  const int k = static_cast<int>(idx % k9);
  const int64_t p = p0 + idx / k9;
  const int ci = k / 9, tap = k % 9;
  const int xx = static_cast<int>(p % w) + tap % 3 - 1;
  const int yy = static_cast<int>((p / w) % h) + tap / 3 - 1;
  const int64_t i = p / (static_cast<int64_t>(w) * h);
  float v = 0.0f;
  if (xx >= 0 && xx < w && yy >= 0 && yy < h) v = x[((i * h + yy) * w + xx) * c + ci];
  col[idx] = v;
}

__global__ void bias_kernel(float* __restrict__ y, const float* __restrict__ bias, int64_t total, int c) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx < total) y[idx] += bias[idx % c];
}

__global__ void residual_kernel(float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ prelu,
                                int64_t total, int c) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  float z = __fadd_rn(x[idx], y[idx]);
  if (prelu && z < 0.0f) z = __fmul_rn(prelu[idx % c], z);
  x[idx] = z;
}

__global__ void shuffle_kernel(const float* __restrict__ y, int h, int w, int c, int r, int64_t total,
                               float* __restrict__ out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // over out
  if (idx >= total) return;
  const int ch = static_cast<int>(idx % c);
  const int64_t hp = idx / c;  // HR pixel
  const int W = w * r, H = h * r;
  const int X = static_cast<int>(hp % W), Y = static_cast<int>((hp / W) % H);
  const int64_t i = hp / (static_cast<int64_t>(W) * H);
  const int sp = (Y % r) * r + X % r;
  out[idx] = y[((i * h + Y / r) * w + X / r) * (static_cast<int64_t>(c) * r * r) + static_cast<int64_t>(ch) * r * r + sp];
}

__global__ void mean_kernel(float* __restrict__ x, int64_t total, float m0, float m1, float m2, float sign) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int ch = static_cast<int>(idx % 3);
  x[idx] = __fadd_rn(x[idx], sign * (ch == 0 ? m0 : ch == 1 ? m1 : m2));
}

}  // namespace

void im2col3x3(const float* x, int n, int h, int w, int c, int64_t p0, int64_t np, float* col, cudaStream_t st) {
  (void)n;
  im2col_kernel<<<blocks_for(np * 9 * c), kThreads, 0, st>>>(x, h, w, c, p0, np, col);
  SCALES_CUDA_LAUNCH();
}

void add_bias(float* y, const float* bias, int64_t pixels, int c, cudaStream_t st) {
  bias_kernel<<<blocks_for(pixels * c), kThreads, 0, st>>>(y, bias, pixels * c, c);
  SCALES_CUDA_LAUNCH();
}

void residual_add(float* x, const float* y, const float* prelu, int64_t pixels, int c, cudaStream_t st) {
  residual_kernel<<<blocks_for(pixels * c), kThreads, 0, st>>>(x, y, prelu, pixels * c, c);
  SCALES_CUDA_LAUNCH();
}

void pixel_shuffle(const float* y, int n, int h, int w, int c, int r, float* out, cudaStream_t st) {
  const int64_t total = static_cast<int64_t>(n) * h * r * w * r * c;
  shuffle_kernel<<<blocks_for(total), kThreads, 0, st>>>(y, h, w, c, r, total, out);
  SCALES_CUDA_LAUNCH();
}

void add_rgb_mean(float* x, int64_t pixels, float m0, float m1, float m2, float sign, cudaStream_t st) {
  mean_kernel<<<blocks_for(pixels * 3), kThreads, 0, st>>>(x, pixels * 3, m0, m1, m2, sign);
  SCALES_CUDA_LAUNCH();
}

}  // namespace scales::cuda
