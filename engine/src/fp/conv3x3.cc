#include "fp/conv3x3.h"

#include <dnnl.hpp>

namespace scales::fp {

using dnnl::memory;

namespace {
dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
}  // namespace

void conv3x3(const float* src, int height, int width, const model::FpConv& c, float* dst) {
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  const memory::dim h = height, w = width, ci = c.in, co = c.out;
  const auto f32 = memory::data_type::f32;
  memory::desc src_md({1, ci, h, w}, f32, memory::format_tag::nhwc);
  memory::desc dst_md({1, co, h, w}, f32, memory::format_tag::nhwc);
  memory::desc wei_user_md({co, ci, 3, 3}, f32, memory::format_tag::oihw);
  memory::desc wei_any_md({co, ci, 3, 3}, f32, memory::format_tag::any);
  memory::desc bias_md({co}, f32, memory::format_tag::x);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                    wei_any_md, bias_md, dst_md, {1, 1}, {1, 1}, {1, 1});
  dnnl::convolution_forward::primitive_desc pd(d, eng);

  memory src_mem(src_md, eng, const_cast<float*>(src));
  memory dst_mem(dst_md, eng, dst);
  memory bias_mem(bias_md, eng, const_cast<float*>(c.bias.data()));
  memory wei_user(wei_user_md, eng, const_cast<float*>(c.weight.data()));
  memory wei_mem = wei_user;
  if (pd.weights_desc() != wei_user_md) {
    wei_mem = memory(pd.weights_desc(), eng);
    dnnl::reorder(wei_user, wei_mem).execute(strm, wei_user, wei_mem);
  }
  dnnl::convolution_forward(pd).execute(
      strm, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, wei_mem}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, dst_mem}});
  strm.wait();
}

}  // namespace scales::fp
