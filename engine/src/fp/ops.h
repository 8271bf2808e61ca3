// The FP operations of SCALES-SwinIR through oneDNN (2.x API): LayerNorm, GELU, row softmax,
// batched matrix products (attention) and the FP twin's linear layers. Row-major float arrays;
// `threads` OpenMP threads for oneDNN, as in conv3x3.h. oneDNN's primitive cache keeps repeated
// shapes cheap.
#pragma once

#include <cstdint>

namespace scales::fp {

// y[t, :] = (x[t, :] - mean) / sqrt(var + eps) * gamma + beta over `c` channels, eps = 1e-5.
// In place allowed (y == x).
void layer_norm(const float* x, int64_t tokens, int64_t c, const float* gamma, const float* beta, float* y,
                int threads);

// x = gelu(x) with the exact (erf) form, in place.
void gelu_inplace(float* x, int64_t n, int threads);

// Each of `rows` rows of `n` values replaced by its softmax, in place.
void softmax_rows_inplace(float* x, int64_t rows, int64_t n, int threads);

// C[b] = A[b] (M x K) * op(B[b]), op(B) = B (K x N) or, with b_transposed, B stored N x K.
// Each matrix is contiguous; batch b at A + b*M*K, B + b*K*N, C + b*M*N.
void batched_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
                    bool b_transposed, int threads);

// y (T x O) = x (T x I) * W^T + bias, W stored O x I (PyTorch's nn.Linear layout).
void linear(const float* x, int64_t tokens, int64_t in, const float* w, const float* bias, int64_t out, float* y,
            int threads);

}  // namespace scales::fp
