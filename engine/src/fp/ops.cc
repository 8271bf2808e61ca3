#include "fp/ops.h"

#include <algorithm>
#include <dnnl.hpp>

#include "fp/omp_threads.h"
#include "runtime/thread_pool.h"

namespace scales::fp {

using dnnl::memory;
using tag = memory::format_tag;

namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

constexpr auto f32 = memory::data_type::f32;

// fn(begin, end) over [0, n) cut into one contiguous part per pool thread (fewer when n is
// small), each part on its own pool thread with oneDNN limited to one OpenMP thread (ops.h: why).
template <class Fn>
void split(int64_t n, ThreadPool& pool, const Fn& fn) {
  if (n <= 0) return;
  const int parts = static_cast<int>(std::min<int64_t>(pool.size(), n));
  pool.parallel_for(parts, [&](int p) {
    OmpThreads one(1);
    fn(n * p / parts, n * (p + 1) / parts);
  });
}

}  // namespace

void gelu_inplace(float* x, int64_t n, ThreadPool& pool) {
  split(n, pool, [&](int64_t i0, int64_t i1) {
    auto& eng = cpu_engine();
    dnnl::stream strm(eng);
    memory::desc md({i1 - i0}, f32, tag::a);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_gelu_erf, md, 0.f, 0.f);
    dnnl::eltwise_forward::primitive_desc pd(d, eng);
    memory m(md, eng, x + i0);
    dnnl::eltwise_forward(pd).execute(strm, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
    strm.wait();
  });
}

void softmax_rows_inplace(float* x, int64_t rows, int64_t n) {
  OmpThreads one(1);
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  memory::desc md({rows, n}, f32, tag::ab);
  dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
  dnnl::softmax_forward::primitive_desc pd(d, eng);
  memory m(md, eng, x);
  dnnl::softmax_forward(pd).execute(strm, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
  strm.wait();
}

void softmax_rows_inplace(float* x, int64_t rows, int64_t n, ThreadPool& pool) {
  split(rows, pool, [&](int64_t r0, int64_t r1) { softmax_rows_inplace(x + r0 * n, r1 - r0, n); });
}

void batched_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
                    bool b_transposed) {
  OmpThreads one(1);
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  memory::desc amd({batch, m, k}, f32, tag::abc), cmd({batch, m, n}, f32, tag::abc);
  // B as a (batch, K, N) matrix: plain, or the transpose of an N x K array (strides K*N, 1, K).
  memory::desc bmd = b_transposed ? memory::desc({batch, k, n}, f32, memory::dims{k * n, 1, k})
                                  : memory::desc({batch, k, n}, f32, tag::abc);
  dnnl::matmul::desc d(amd, bmd, cmd);
  dnnl::matmul::primitive_desc pd(d, eng);
  memory am(amd, eng, const_cast<float*>(a)), bm(bmd, eng, const_cast<float*>(b)), cm(cmd, eng, c);
  dnnl::matmul(pd).execute(strm, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  strm.wait();
}

void batched_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
                    bool b_transposed, ThreadPool& pool) {
  split(batch, pool, [&](int64_t b0, int64_t b1) {
    batched_matmul(a + b0 * m * k, b + b0 * k * n, c + b0 * m * n, b1 - b0, m, k, n, b_transposed);
  });
}

void linear(const float* x, int64_t tokens, int64_t in, const float* w, const float* bias, int64_t out, float* y,
            ThreadPool& pool) {
  split(tokens, pool, [&](int64_t t0, int64_t t1) {
    auto& eng = cpu_engine();
    dnnl::stream strm(eng);
    memory::desc xmd({t1 - t0, in}, f32, tag::ab), ymd({t1 - t0, out}, f32, tag::ab);
    memory::desc wmd({in, out}, f32, memory::dims{1, in});  // W^T of an O x I array
    memory::desc bmd({1, out}, f32, tag::ab);
    dnnl::matmul::desc d(xmd, wmd, bmd, ymd);
    dnnl::matmul::primitive_desc pd(d, eng);
    memory xm(xmd, eng, const_cast<float*>(x + t0 * in)), wm(wmd, eng, const_cast<float*>(w)),
        bm(bmd, eng, const_cast<float*>(bias)), ym(ymd, eng, y + t0 * out);
    dnnl::matmul(pd).execute(strm,
                             {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, ym}});
    strm.wait();
  });
}

}  // namespace scales::fp
