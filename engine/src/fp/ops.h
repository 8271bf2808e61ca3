// The FP operations of SCALES-SwinIR through oneDNN (2.x API): the FP twin's GELU, row softmax,
// batched matrix products (attention) and the FP twin's linear layers. Row-major float arrays.
//
// Each call splits its rows (tokens, matrices) into one part per thread of the engine's pool and
// runs oneDNN on every part with ONE OpenMP thread. Why not oneDNN's own OpenMP threading, as the
// convolutions use (conv3x3.h)? SwinIR interleaves ~150 of these calls per forward with the
// pool's binary kernels, and after every OpenMP parallel region libgomp's idle team spin-waits on
// the cores the pool needs next: measured 44% of a paper-size SwinIR forward's CPU time inside
// libgomp. oneDNN's primitive cache keeps the few part shapes cheap.
#pragma once

#include <cstdint>

namespace scales::runtime {
class ThreadPool;
}

namespace scales::fp {

using runtime::ThreadPool;

// x = gelu(x) with the exact (erf) form, in place.
void gelu_inplace(float* x, int64_t n, ThreadPool& pool);

// Each of `rows` rows of `n` values replaced by its softmax, in place.
void softmax_rows_inplace(float* x, int64_t rows, int64_t n, ThreadPool& pool);

// C[b] = A[b] (M x K) * op(B[b]), op(B) = B (K x N) or, with b_transposed, B stored N x K.
// Each matrix is contiguous; batch b at A + b*M*K, B + b*K*N, C + b*M*N.
void batched_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
                    bool b_transposed, ThreadPool& pool);

// The same two, run in the calling thread with one OpenMP thread: for callers that already split
// their work over the pool (SwinIR's attention, one group of windows per task).
void softmax_rows_inplace(float* x, int64_t rows, int64_t n);
void batched_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
                    bool b_transposed);

// y (T x O) = x (T x I) * W^T + bias, W stored O x I (PyTorch's nn.Linear layout).
void linear(const float* x, int64_t tokens, int64_t in, const float* w, const float* bias, int64_t out, float* y,
            ThreadPool& pool);

}  // namespace scales::fp
