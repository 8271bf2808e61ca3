// The SCALES output transform after the reference conv (kernels.h): one thread per value.
#include "cuda/check.h"
#include "cuda/epilogue.cuh"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {

__global__ void epilogue_kernel(const int32_t* __restrict__ ybin, const float* __restrict__ gk,
                                const float* __restrict__ s, const float* __restrict__ cfac,
                                const float* __restrict__ prelu, int64_t pixels_per_item, int64_t total, int c,
                                float* __restrict__ x) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int o = static_cast<int>(idx % c);
  const int64_t pixel = idx / c;
  const int64_t item_c = (pixel / pixels_per_item) * c;
  x[idx] = scales_output(x[idx], ybin[idx], gk[o], s, pixel, cfac, item_c, o, prelu);
}

}  // namespace

void bconv_epilogue(const int32_t* ybin, const float* gk, const float* s, const float* cfac, const float* prelu,
                    int n, int h, int w, int c, float* x, cudaStream_t st) {
  const int64_t total = static_cast<int64_t>(n) * h * w * c;
  const int threads = 256;
  epilogue_kernel<<<static_cast<unsigned>((total + threads - 1) / threads), threads, 0, st>>>(
      ybin, gk, s, cfac, prelu, static_cast<int64_t>(h) * w, total, c, x);
  SCALES_CUDA_LAUNCH();
}

}  // namespace scales::cuda
