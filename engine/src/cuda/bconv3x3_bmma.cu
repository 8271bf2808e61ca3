// The binary 3x3 conv on binary tensor cores, with the SCALES epilogue fused (kernels.h).
//
// One block = 32 consecutive output pixels of one row of one image, all output channels:
//   1. im2col: the 32 pixels' 3x3 neighbourhoods of packed signs (9 x words uint64 each, padded
//      to whole 128-bit chunks) into shared memory, chunk-major so every 8x128-bit operand
//      starts on a 256-bit boundary as WMMA requires; popc(a) per pixel on the way.
//   2. each of the 4 warps takes 8 pixels and walks the output channels 8 at a time: one
//      bmma (m8n8k128, AND + popcount, sm_80+; the XOR form is emulated on sm_90) per chunk
//      gives popc(a AND w); the counts go to shared memory.
//   3. every thread finishes values: dot = K - 2 popc(a) - 2 popc(w) + 4 popc(a AND w) (+-1 dot
//      products from AND counts; zero padding bits drop out of all three counts), then the
//      output transform of epilogue.cuh, in place on the residual x (coalesced over channels).
#include <mma.h>

#include "cuda/bmma_layout.h"
#include "cuda/check.h"
#include "cuda/epilogue.cuh"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {

namespace wmma = nvcuda::wmma;
using bmma::kPixels;
constexpr int kWarps = 4;  // 8 pixels each

__global__ void __launch_bounds__(32 * kWarps)
    bconv3x3_bmma_kernel(const uint64_t* __restrict__ packed, int h, int w, int words,
                         const uint64_t* __restrict__ wchunks, const int* __restrict__ popc_w, int c_out, int c_in,
                         const float* __restrict__ gk, const float* __restrict__ s, const float* __restrict__ cfac,
                         const float* __restrict__ prelu, float* __restrict__ x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  extern __shared__ __align__(128) unsigned char smem[];
  const int kchunks = bmma::kchunks(words), kw64 = 2 * kchunks;
  uint64_t* a_s = reinterpret_cast<uint64_t*>(smem);                           // (kchunks, 32, 2)
  int* y_s = reinterpret_cast<int*>(smem + static_cast<size_t>(kchunks) * kPixels * 16);  // (32, c_out)
  int* pa_s = y_s + kPixels * c_out;                                            // (32)

  const int i = blockIdx.z, row = blockIdx.y, x0 = blockIdx.x * kPixels;
  const uint64_t* img = packed + static_cast<int64_t>(i) * (h + 2) * (w + 2) * words;
  for (int idx = threadIdx.x; idx < kPixels * kw64; idx += blockDim.x) {
    const int p = idx / kw64, k = idx % kw64;
    const int64_t src = bmma::source_index(k, row, x0 + p, w, words);
    a_s[bmma::a_index(k, p)] = src < 0 ? 0 : img[src];
  }
  __syncthreads();
  if (threadIdx.x < kPixels) {
    int pa = 0;
    for (int k = 0; k < kw64; ++k) pa += __popcll(a_s[bmma::a_index(k, threadIdx.x)]);
    pa_s[threadIdx.x] = pa;
  }

  const int warp = threadIdx.x >> 5;
  wmma::fragment<wmma::matrix_a, 8, 8, 128, wmma::experimental::precision::b1, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 8, 8, 128, wmma::experimental::precision::b1, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 8, 8, 128, int> acc;
  for (int nt = 0; nt < c_out / 8; ++nt) {
    wmma::fill_fragment(acc, 0);
    for (int kc = 0; kc < kchunks; ++kc) {
      wmma::load_matrix_sync(fa, a_s + bmma::a_operand(kc, warp), 128);
      wmma::load_matrix_sync(fb, wchunks + bmma::b_operand(kc, nt, c_out), 128);
      wmma::bmma_sync(acc, fa, fb, acc, wmma::experimental::bmmaBitOpAND, wmma::experimental::bmmaAccumulateOpPOPC);
    }
    wmma::store_matrix_sync(y_s + warp * 8 * c_out + nt * 8, acc, c_out, wmma::mem_row_major);
  }
  __syncthreads();

  const int k_bits = 9 * c_in;
  for (int idx = threadIdx.x; idx < kPixels * c_out; idx += blockDim.x) {
    const int p = idx / c_out, o = idx % c_out;
    if (x0 + p >= w) continue;
    const int32_t dot = bmma::dot_from_and(k_bits, pa_s[p], popc_w[o], y_s[idx]);
    const int64_t pixel = (static_cast<int64_t>(i) * h + row) * w + x0 + p;
    float* xp = x + pixel * c_out + o;
    *xp = scales_output(*xp, dot, gk[o], s, pixel, cfac, static_cast<int64_t>(i) * c_out, o, prelu);
  }
#endif
}

}  // namespace

bool bmma_supported(int c_out) { return c_out % 8 == 0 && c_out <= 256; }
int bmma_kchunks(int words) { return bmma::kchunks(words); }

void bconv3x3_bmma(const uint64_t* packed, int n, int h, int w, int words, const uint64_t* wchunks,
                   const int* popc_w, int c_out, int c_in, const float* gk, const float* s, const float* cfac,
                   const float* prelu, float* x, cudaStream_t st) {
  if (!bmma_supported(c_out)) throw Error("bconv3x3_bmma: c_out " + std::to_string(c_out) + " unsupported");
  const size_t smem = static_cast<size_t>(bmma_kchunks(words)) * kPixels * 16 +
                      static_cast<size_t>(kPixels) * c_out * sizeof(int) + kPixels * sizeof(int);
  static_assert(kPixels == 8 * kWarps);
  if (smem > 48 * 1024)
    SCALES_CUDA_CHECK(cudaFuncSetAttribute(bconv3x3_bmma_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)));
  const dim3 grid((w + kPixels - 1) / kPixels, h, n);
  bconv3x3_bmma_kernel<<<grid, 32 * kWarps, smem, st>>>(packed, h, w, words, wchunks, popc_w, c_out, c_in, gk, s,
                                                        cfac, prelu, x);
  SCALES_CUDA_LAUNCH();
}

}  // namespace scales::cuda
