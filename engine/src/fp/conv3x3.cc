#include "fp/conv3x3.h"

#include <dnnl.hpp>

#include "fp/omp_threads.h"

namespace scales::fp {

using dnnl::memory;

namespace {
dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
}  // namespace

struct Conv3x3::Impl {
  ConvParams p;   // weight (O, I, 3, 3), bias (O)
  std::mutex mu;  // guards reordered
  std::vector<std::pair<memory::desc, memory>> reordered;
};

Conv3x3::Conv3x3(const ConvParams& c) : in_(c.in), out_(c.out), impl_(std::make_unique<Impl>()) { impl_->p = c; }

const ConvParams& Conv3x3::params() const { return impl_->p; }

Conv3x3::~Conv3x3() = default;

void Conv3x3::run(const float* src, int height, int width, float* dst, int threads) const {
  OmpThreads scoped(threads);
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  const memory::dim h = height, w = width, ci = in_, co = out_;
  const auto f32 = memory::data_type::f32;
  memory::desc src_md({1, ci, h, w}, f32, memory::format_tag::nhwc);
  memory::desc dst_md({1, co, h, w}, f32, memory::format_tag::nhwc);
  memory::desc wei_user_md({co, ci, 3, 3}, f32, memory::format_tag::oihw);
  memory::desc wei_any_md({co, ci, 3, 3}, f32, memory::format_tag::any);
  memory::desc bias_md({co}, f32, memory::format_tag::x);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                    wei_any_md, bias_md, dst_md, {1, 1}, {1, 1}, {1, 1});
  dnnl::convolution_forward::primitive_desc pd(d, eng);

  memory wei_mem;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    for (auto& [md, mem] : impl_->reordered)
      if (md == pd.weights_desc()) wei_mem = mem;
    if (!wei_mem) {
      memory wei_user(wei_user_md, eng, impl_->p.weight.data());
      wei_mem = wei_user;
      if (pd.weights_desc() != wei_user_md) {
        wei_mem = memory(pd.weights_desc(), eng);
        dnnl::reorder(wei_user, wei_mem).execute(strm, wei_user, wei_mem);
        strm.wait();
      }
      impl_->reordered.emplace_back(pd.weights_desc(), wei_mem);
    }
  }
  memory src_mem(src_md, eng, const_cast<float*>(src));
  memory dst_mem(dst_md, eng, dst);
  memory bias_mem(bias_md, eng, impl_->p.bias.data());
  dnnl::convolution_forward(pd).execute(
      strm, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, wei_mem}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, dst_mem}});
  strm.wait();
}

}  // namespace scales::fp
