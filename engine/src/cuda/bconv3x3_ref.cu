// The reference binary 3x3 conv on the GPU: one thread per output value, the CPU reference
// kernel's arithmetic (K - 2 * popcount(A XOR W) over 9 taps x words). Simple on purpose: the
// tensor-core kernel (bconv3x3_bmma.cu) is tested against it bit for bit.
#include "cuda/check.h"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {

__global__ void bconv3x3_ref_kernel(const uint64_t* __restrict__ packed, int n, int h, int w, int words,
                                    const uint64_t* __restrict__ wbits, int c_out, int c_in,
                                    int32_t* __restrict__ ybin) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t total = static_cast<int64_t>(n) * h * w * c_out;
  if (idx >= total) return;
  const int o = static_cast<int>(idx % c_out);
  const int64_t pixel = idx / c_out;
  const int xx = static_cast<int>(pixel % w);
  const int yy = static_cast<int>((pixel / w) % h);
  const int i = static_cast<int>(pixel / (static_cast<int64_t>(w) * h));
  int mismatches = 0;
  for (int kh = 0; kh < 3; ++kh)
    for (int kw = 0; kw < 3; ++kw) {
      // Padded coordinates: output (yy, xx) reads (yy + kh - 1, xx + kw - 1), stored at +1.
      const uint64_t* a = packed + ((static_cast<int64_t>(i) * (h + 2) + yy + kh) * (w + 2) + xx + kw) * words;
      const uint64_t* b = wbits + ((static_cast<int64_t>(o) * 3 + kh) * 3 + kw) * words;
      for (int k = 0; k < words; ++k) mismatches += __popcll(a[k] ^ b[k]);
    }
  ybin[idx] = 9 * c_in - 2 * mismatches;
}

}  // namespace

void bconv3x3_ref(const uint64_t* packed, int n, int h, int w, int words, const uint64_t* wbits, int c_out,
                  int c_in, int32_t* ybin, cudaStream_t st) {
  const int64_t total = static_cast<int64_t>(n) * h * w * c_out;
  const int threads = 256;
  bconv3x3_ref_kernel<<<static_cast<unsigned>((total + threads - 1) / threads), threads, 0, st>>>(
      packed, n, h, w, words, wbits, c_out, c_in, ybin);
  SCALES_CUDA_LAUNCH();
}

}  // namespace scales::cuda
