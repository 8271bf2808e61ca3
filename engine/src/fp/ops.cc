#include "fp/ops.h"

#include <omp.h>

#include <dnnl.hpp>

namespace scales::fp {

using dnnl::memory;
using tag = memory::format_tag;

namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

constexpr auto f32 = memory::data_type::f32;

}  // namespace

void layer_norm(const float* x, int64_t tokens, int64_t c, const float* gamma, const float* beta, float* y,
                int threads) {
  omp_set_num_threads(threads);
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  memory::desc md({tokens, c}, f32, tag::ab), wmd({c}, f32, tag::a);
  dnnl::layer_normalization_forward::desc d(
      dnnl::prop_kind::forward_inference, md, 1e-5f,
      dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift);
  dnnl::layer_normalization_forward::primitive_desc pd(d, eng);
  memory src(md, eng, const_cast<float*>(x)), dst(md, eng, y);
  memory sc(wmd, eng, const_cast<float*>(gamma)), sh(wmd, eng, const_cast<float*>(beta));
  dnnl::layer_normalization_forward(pd).execute(
      strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCALE, sc}, {DNNL_ARG_SHIFT, sh}});
  strm.wait();
}

void gelu_inplace(float* x, int64_t n, int threads) {
  omp_set_num_threads(threads);
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  memory::desc md({n}, f32, tag::a);
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_gelu_erf, md, 0.f, 0.f);
  dnnl::eltwise_forward::primitive_desc pd(d, eng);
  memory m(md, eng, x);
  dnnl::eltwise_forward(pd).execute(strm, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
  strm.wait();
}

void softmax_rows_inplace(float* x, int64_t rows, int64_t n, int threads) {
  omp_set_num_threads(threads);
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  memory::desc md({rows, n}, f32, tag::ab);
  dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
  dnnl::softmax_forward::primitive_desc pd(d, eng);
  memory m(md, eng, x);
  dnnl::softmax_forward(pd).execute(strm, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
  strm.wait();
}

void batched_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
                    bool b_transposed, int threads) {
  omp_set_num_threads(threads);
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

void linear(const float* x, int64_t tokens, int64_t in, const float* w, const float* bias, int64_t out, float* y,
            int threads) {
  omp_set_num_threads(threads);
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  memory::desc xmd({tokens, in}, f32, tag::ab), ymd({tokens, out}, f32, tag::ab);
  memory::desc wmd({in, out}, f32, memory::dims{1, in});  // W^T of an O x I array
  memory::desc bmd({1, out}, f32, tag::ab);
  dnnl::matmul::desc d(xmd, wmd, bmd, ymd);
  dnnl::matmul::primitive_desc pd(d, eng);
  memory xm(xmd, eng, const_cast<float*>(x)), wm(wmd, eng, const_cast<float*>(w)), bm(bmd, eng, const_cast<float*>(bias)),
      ym(ymd, eng, y);
  dnnl::matmul(pd).execute(strm, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, ym}});
  strm.wait();
}

}  // namespace scales::fp
