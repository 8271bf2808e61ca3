#include "fp/conv3x3_winograd.h"

#include <algorithm>
#include <cstddef>
#include <stdexcept>

#ifdef SCALES_HAVE_BLAS_CONV
#include <cblas.h>
#else
#include <dnnl.h>
#endif

#include "fp/im2col.h"
#include "fp/omp_threads.h"
#include "kernels/isa_clones.h"

namespace scales::fp {

namespace {

// F(4x4, 3x3) at the points 0, 1, -1, 2, -2 and infinity:
//
//   B^T = [4  0 -5  0  1  0]   G = [ 1/4     0     0 ]   A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]       [-1/6  -1/6  -1/6 ]         [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]       [-1/6   1/6  -1/6 ]         [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]       [1/24  1/12   1/6 ]         [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]       [1/24 -1/12   1/6 ]
//         [0  4  0 -5  0  1]       [  0     0     1  ]
constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                             {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                             {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6},
                             {1.0 / 24, -1.0 / 12, 1.0 / 6},
                             {0, 0, 1}};

// The products' left matrices and results of one chunk are at most about this size together: a
// whole row of 64 tiles at 64 -> 256 channels (2.9 MB). Blocks of 22 tiles (1 MB, inside L2) made
// the products shorter and the x4 upsamplers slower (scales-latency, B16 C64 x4 256x256, the two
// upsamplers: 43.6 + 198.5 ms on AVX2, 29.2 + 152.5 on AVX-512, against 40.7 + 186.2 and 25.6 + 140.1).
constexpr size_t kChunkBytes = size_t{1} << 22;

// The transforms run per channel, written so GCC vectorises them across channels; cloned per ISA
// level (kernels/isa_clones.h) since the engine is built for baseline x86-64.

// B^T applied to six vectors of n channels (the 6 points of one patch row or column), into six.
SCALES_ISA_CLONES
void input_points(const float* __restrict d0, const float* __restrict d1, const float* __restrict d2,
                  const float* __restrict d3, const float* __restrict d4, const float* __restrict d5,
                  float* __restrict o0, float* __restrict o1, float* __restrict o2, float* __restrict o3,
                  float* __restrict o4, float* __restrict o5, int n) {
  for (int c = 0; c < n; ++c) {
    const float a0 = d0[c], a1 = d1[c], a2 = d2[c], a3 = d3[c], a4 = d4[c], a5 = d5[c];
    o0[c] = 4 * a0 - 5 * a2 + a4;
    o1[c] = -4 * (a1 + a2) + (a3 + a4);
    o2[c] = 4 * (a1 - a2) + (a4 - a3);
    o3[c] = 2 * (a3 - a1) + (a4 - a2);
    o4[c] = 2 * (a1 - a3) + (a4 - a2);
    o5[c] = 4 * a1 - 5 * a3 + a5;
  }
}

// A^T applied to six vectors of n channels, into four (o_j = sum_i A^T[j][i] m_i + bias, bias
// null for none).
SCALES_ISA_CLONES
void output_points(const float* __restrict m0, const float* __restrict m1, const float* __restrict m2,
                   const float* __restrict m3, const float* __restrict m4, const float* __restrict m5,
                   const float* __restrict bias, float* __restrict o0, float* __restrict o1, float* __restrict o2,
                   float* __restrict o3, int n) {
  for (int c = 0; c < n; ++c) {
    const float b = bias ? bias[c] : 0.f;
    const float s12 = m1[c] + m2[c], d12 = m1[c] - m2[c], s34 = m3[c] + m4[c], d34 = m3[c] - m4[c];
    o0[c] = m0[c] + s12 + s34 + b;
    o1[c] = d12 + 2 * d34 + b;
    o2[c] = s12 + 4 * s34 + b;
    o3[c] = d12 + 8 * d34 + m5[c] + b;
  }
}

// c = a b for row-major a (m x k), b (k x n), c (m x n), single-threaded (the caller's OpenMP count is 1).
void product(int m, int n, int k, const float* a, const float* b, float* c) {
#ifdef SCALES_HAVE_BLAS_CONV
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a, k, b, n, 0.f, c, n);
#else
  if (dnnl_sgemm('N', 'N', m, n, k, 1.f, a, k, b, n, 0.f, c, n) != dnnl_success)
    throw std::runtime_error("Winograd conv: oneDNN's sgemm failed");
#endif
}

}  // namespace

WinogradConv3x3::WinogradConv3x3(const ConvParams& c)
    : in_(c.in), out_(c.out), u_(static_cast<size_t>(36) * c.in * c.out), bias_(c.bias) {
  // U = G g G^T in double, rounded once.
  for (int o = 0; o < out_; ++o)
    for (int i = 0; i < in_; ++i) {
      const float* g = c.weight.data() + (static_cast<size_t>(o) * in_ + i) * 9;
      double gg[6][3];  // G g
      for (int a = 0; a < 6; ++a)
        for (int x = 0; x < 3; ++x) gg[a][x] = kG[a][0] * g[x] + kG[a][1] * g[3 + x] + kG[a][2] * g[6 + x];
      for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 6; ++b) {
          const double v = gg[a][0] * kG[b][0] + gg[a][1] * kG[b][1] + gg[a][2] * kG[b][2];
          u_[((static_cast<size_t>(a) * 6 + b) * in_ + i) * out_ + o] = static_cast<float>(v);
        }
    }
}

void WinogradConv3x3::run_rows(const float* src, int height, int width, int row0, int row1, float* dst,
                               int threads) const {
  if (row1 <= row0 || width <= 0) return;
  const int tiles_x = (width + 3) / 4;
  // Columns of tiles per chunk: at most kChunkBytes of matrices, and the row's tiles shared out
  // evenly among the blocks (threads take blocks). Fixed by the channel counts and the width only
  // (the fixed grid above).
  const int most =
      std::max<int>(4, static_cast<int>(kChunkBytes / (sizeof(float) * 36 * static_cast<size_t>(in_ + out_))));
  const int blocks = (tiles_x + most - 1) / most, per_block = (tiles_x + blocks - 1) / blocks;
  const int ty0 = row0 / 4, ty1 = (row1 + 3) / 4;
  const int chunks = (ty1 - ty0) * blocks;
  const size_t in = in_, out = out_;
  OmpThreads one(1);  // one thread per product, as in fp/conv3x3_blas.cc
  parallel_chunks(chunks, threads, [&](int ch) {
    const int ty = ty0 + ch / blocks, tx0 = ch % blocks * per_block;
    const int tiles = std::min(per_block, tiles_x - tx0);
    // Kept per thread: fresh buffers each chunk would be mapped and faulted in every time.
    thread_local std::vector<float> v, m, patch, outs, zero, spill;
    v.resize(36 * static_cast<size_t>(tiles) * in);
    m.resize(36 * static_cast<size_t>(tiles) * out);
    patch.resize(36 * in);
    outs.resize(24 * out);
    zero.assign(in, 0.f);
    spill.resize(4 * out);

    // Input transform: tile t's patch point (r, x) is input pixel (4ty - 1 + r, 4(tx0 + t) - 1 + x).
    for (int t = 0; t < tiles; ++t) {
      const int x0 = 4 * (tx0 + t) - 1;
      for (int r = 0; r < 6; ++r) {  // B^T along the patch row r: patch[r][b]
        const int y = 4 * ty - 1 + r;
        const float* row = y >= 0 && y < height ? src + static_cast<size_t>(y) * width * in : nullptr;
        const float* d[6];
        for (int x = 0; x < 6; ++x) {
          const int xx = x0 + x;
          d[x] = row && xx >= 0 && xx < width ? row + static_cast<size_t>(xx) * in : zero.data();
        }
        float* o = patch.data() + static_cast<size_t>(r) * 6 * in;  // patch[r][b]: o + b * in
        input_points(d[0], d[1], d[2], d[3], d[4], d[5], o, o + in, o + 2 * in, o + 3 * in, o + 4 * in, o + 5 * in,
                     in_);
      }
      for (int b = 0; b < 6; ++b) {  // then along the columns: V[a * 6 + b][t]
        auto p = [&](int r) { return patch.data() + (static_cast<size_t>(r) * 6 + b) * in; };
        auto o = [&](int a) { return v.data() + ((static_cast<size_t>(a) * 6 + b) * tiles + t) * in; };
        input_points(p(0), p(1), p(2), p(3), p(4), p(5), o(0), o(1), o(2), o(3), o(4), o(5), in_);
      }
    }
    for (int xi = 0; xi < 36; ++xi)
      product(tiles, out_, in_, v.data() + xi * tiles * in, u_.data() + xi * in * out, m.data() + xi * tiles * out);

    // Output transform: A^T along the columns of M (outs[j][b]), then along the rows.
    const int y_first = std::max(row0, 4 * ty), y_end = std::min({row1, 4 * ty + 4, height});
    for (int t = 0; t < tiles; ++t) {
      for (int b = 0; b < 6; ++b) {
        auto mp = [&](int a) { return m.data() + ((static_cast<size_t>(a) * 6 + b) * tiles + t) * out; };
        auto o = [&](int j) { return outs.data() + (static_cast<size_t>(j) * 6 + b) * out; };
        output_points(mp(0), mp(1), mp(2), mp(3), mp(4), mp(5), nullptr, o(0), o(1), o(2), o(3), out_);
      }
      // Then along the rows, plus the bias, into the output pixels (a tile past the right edge
      // writes its missing columns to `spill`).
      const int xt = 4 * (tx0 + t), cols = std::min(4, width - xt);
      for (int y = y_first; y < y_end; ++y) {
        const float* q = outs.data() + static_cast<size_t>(y - 4 * ty) * 6 * out;
        float* d = dst + (static_cast<size_t>(y - row0) * width + xt) * out;
        auto px = [&](int x) { return x < cols ? d + x * out : spill.data() + x * out; };
        output_points(q, q + out, q + 2 * out, q + 3 * out, q + 4 * out, q + 5 * out, bias_.data(), px(0), px(1), px(2),
                      px(3), out_);
      }
    }
  });
}

}  // namespace scales::fp
