// The FP library choice, measured: the engine's 64 -> 256 3x3 conv on a 256x256 map done the
// OpenBLAS way (im2col + SGEMM), to set beside scales-bench's "fp" figure for oneDNN's direct conv.
// Not part of the build: installing libopenblas-dev switches Debian's libblas.so.3 alternative
// under numpy, which the bit-exact bicubic tests use. To reproduce (then purge the package):
//
//   apt-get install libopenblas-dev
//   g++ -O2 -o /tmp/openblas_conv bench/fp_choice/openblas_conv.cc \
//     -I/usr/include/x86_64-linux-gnu/openblas-pthread -L/usr/lib/x86_64-linux-gnu/openblas-pthread \
//     -lopenblas -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-pthread && /tmp/openblas_conv
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main() {
  const int H = 256, W = 256, C = 64, O = 256, K = 9 * C;
  std::vector<float> x(size_t(H) * W * C, 0.5f), col(size_t(H) * W * K), wt(size_t(K) * O, 0.01f), y(size_t(H) * W * O);
  openblas_set_num_threads(2);
  std::vector<double> tcol, tgemm;
  for (int r = 0; r < 9; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int yy = 0; yy < H; ++yy)  // im2col, HWC: row (y, x) holds the 3x3 x C neighbourhood
      for (int xx = 0; xx < W; ++xx) {
        float* d = col.data() + (size_t(yy) * W + xx) * K;
        for (int kh = 0; kh < 3; ++kh)
          for (int kw = 0; kw < 3; ++kw, d += C) {
            const int sy = yy + kh - 1, sx = xx + kw - 1;
            if (sy < 0 || sy >= H || sx < 0 || sx >= W)
              std::fill(d, d + C, 0.0f);
            else
              std::copy_n(x.data() + (size_t(sy) * W + sx) * C, C, d);
          }
      }
    const auto t1 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H * W, O, K, 1.0f, col.data(), K, wt.data(), O, 0.0f,
                y.data(), O);
    const auto t2 = std::chrono::steady_clock::now();
    tcol.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    tgemm.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  std::sort(tcol.begin(), tcol.end());
  std::sort(tgemm.begin(), tgemm.end());
  const double macs = double(H) * W * C * O * 9, c = tcol[4], g = tgemm[4];
  std::printf("im2col %.1f ms, sgemm %.1f ms (%.0f GMAC/s), im2col + sgemm %.0f GMAC/s\n", c, g, macs / g / 1e6,
              macs / (c + g) / 1e6);
}
