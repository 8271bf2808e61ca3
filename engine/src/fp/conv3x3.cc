#include "fp/conv3x3.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "fp/omp_threads.h"
#include "fp/quantize.h"

namespace scales::fp {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dt data_type(Precision p) {
  switch (p) {
    case Precision::bf16: return dt::bf16;
    case Precision::int8: return dt::s8;
    default: return dt::f32;
  }
}

// A low-precision conv converts its input in bands of about this many bytes of float input.
constexpr size_t kBandBytes = size_t{1} << 20;

}  // namespace

struct Conv3x3::Impl {
  ConvParams p;  // weight (O, I, 3, 3), bias (O), as given
  Int8Conv q;    // int8 only (bf16 weights are reordered from the f32 ones by oneDNN)

  // One band shape: the primitive, its weights in oneDNN's layout, and the reorder that converts
  // the band's input rows (bf16 / int8 only).
  struct Key {
    Precision prec;
    int src_rows, width, pad_top, pad_bottom;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    dnnl::convolution_forward conv;
    memory weights;
    memory::desc src_md;
    memory::desc scratchpad_md;
    dnnl::reorder to_src;  // f32 -> src_md, with the int8 input scales
  };
  // Shared, so a call still using an entry keeps it when another call's insert evicts it. Tile and
  // image sizes vary, so the cache is bounded (kMaxEntries): an entry costs a primitive and one
  // copy of the weights. The least recently used entry goes first: a server's full-tile shapes
  // come back every call, while each new image size adds edge bands seen once, which used to
  // flush the whole cache (and so the hot shapes) every 32 of them.
  static constexpr size_t kMaxEntries = 32;
  struct Slot {
    std::shared_ptr<const Entry> entry;
    uint64_t used;  // `uses` when last returned
  };
  std::mutex mu;  // guards entries and uses
  std::map<Key, Slot> entries;
  uint64_t uses = 0;
  size_t built = 0;  // entries ever made

  std::shared_ptr<const Entry> entry(const Key& k, dnnl::stream& strm);
};

std::shared_ptr<const Conv3x3::Impl::Entry> Conv3x3::Impl::entry(const Key& k, dnnl::stream& strm) {
  auto it = entries.find(k);
  if (it != entries.end()) {
    it->second.used = ++uses;
    return it->second.entry;
  }
  if (entries.size() >= kMaxEntries)
    entries.erase(std::min_element(entries.begin(), entries.end(),
                                   [](const auto& a, const auto& b) { return a.second.used < b.second.used; }));
  auto& eng = cpu_engine();
  const memory::dim ci = p.in, co = p.out, w = k.width, sh = k.src_rows;
  const memory::dim oh = sh + k.pad_top + k.pad_bottom - 2;
  const dt sdt = data_type(k.prec);
  memory::desc src_md({1, ci, sh, w}, sdt, tag::nhwc);
  memory::desc dst_md({1, co, oh, w}, dt::f32, tag::nhwc);
  memory::desc wei_any({co, ci, 3, 3}, sdt, tag::any);
  memory::desc bias_md({co}, dt::f32, tag::x);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                    wei_any, bias_md, dst_md, {1, 1}, {k.pad_top, 1}, {k.pad_bottom, 1});
  dnnl::primitive_attr attr;
  if (k.prec == Precision::int8) attr.set_output_scales(1 << 1, q.weight_scale);
  // Each call brings its own scratchpad: the library's is shared, and the engines of a server run
  // the same (cached) primitive from several threads at once (TileJobTest.TasksRunConcurrently...
  // saw corrupted tiles with the library's).
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::convolution_forward::primitive_desc pd(d, attr, eng);

  auto made = std::make_shared<Entry>();
  Entry& e = *made;
  e.src_md = src_md;
  e.scratchpad_md = pd.scratchpad_desc();
  e.conv = dnnl::convolution_forward(pd);
  // Weights: from the model's layout (oihw) into the primitive's, once per band shape (int8
  // weights carry oneDNN's signed-input compensation in their layout).
  memory::desc wei_user_md({co, ci, 3, 3}, k.prec == Precision::int8 ? dt::s8 : dt::f32, tag::oihw);
  void* user = k.prec == Precision::int8 ? static_cast<void*>(q.weight.data()) : static_cast<void*>(p.weight.data());
  memory wei_user(wei_user_md, eng, user);
  e.weights = memory(pd.weights_desc(), eng);
  dnnl::reorder(wei_user, e.weights).execute(strm, wei_user, e.weights);
  if (k.prec != Precision::fp32) {
    memory::desc f32_md({1, ci, sh, w}, dt::f32, tag::nhwc);
    dnnl::primitive_attr ra;
    if (k.prec == Precision::int8) ra.set_output_scales(1 << 1, q.input_scale);
    e.to_src = dnnl::reorder(dnnl::reorder::primitive_desc(eng, f32_md, eng, src_md, ra));
  }
  strm.wait();
  entries.emplace(k, Slot{made, ++uses});
  ++built;
  return made;
}

size_t Conv3x3::primitives_built() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->built;
}

namespace {
// oneDNN's implementation for a conv in this precision, by name ("" where it has none): "ref" in
// it marks a reference implementation, "vnni" int8 on VNNI dot products.
std::string onednn_impl(Precision prec, int in, int out) {
  try {
    const dt sdt = data_type(prec);
    memory::desc src({1, in, 16, 16}, sdt, tag::nhwc), dst({1, out, 16, 16}, dt::f32, tag::nhwc);
    memory::desc wei({out, in, 3, 3}, sdt, tag::any), bias({out}, dt::f32, tag::x);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei,
                                      bias, dst, {1, 1}, {1, 1}, {1, 1});
    dnnl::primitive_attr attr;
    if (prec == Precision::int8) attr.set_output_scales(1 << 1, std::vector<float>(out, 1.f));
    dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
    return pd.impl_info_str();
  } catch (const dnnl::error&) {
    return "";
  }
}

// Whether an implementation onednn_impl() named runs natively: a reference implementation would
// be far slower than fp32 (and, for fp32 itself, than OpenBLAS where the build has it).
bool native_impl(const std::string& impl) { return !impl.empty() && impl.find("ref") == std::string::npos; }
}  // namespace

Conv3x3::Conv3x3(const ConvParams& c) : in_(c.in), out_(c.out), impl_(std::make_unique<Impl>()) {
  impl_->p = c;
  Precision want = c.precision;
  if (want == Precision::int8 && c.input_absmax.size() != static_cast<size_t>(c.in)) want = Precision::fp32;
  if (c.out <= kNarrowOut) {  // oneDNN's kernels are slow for it in every precision
    narrow_ = std::make_unique<NarrowConv3x3>(c);
    return;
  }
  const char* force = std::getenv("SCALES_FP_CONV");
  [[maybe_unused]] const bool force_onednn = force && std::strcmp(force, "onednn") == 0;
  // "direct": every form but Winograd's, as the platform picks them (to time Winograd against
  // the form it replaced: oneDNN's on x86, OpenBLAS's on arm64).
  const bool direct = force_onednn || (force && std::strcmp(force, "direct") == 0);
  if (!direct && WinogradConv3x3::pays(c.in, c.out)) winograd_ = std::make_unique<WinogradConv3x3>(c);
#ifdef SCALES_HAVE_NEON_LOWP_CONV
  // Ahead of oneDNN's: its one native low-precision conv on arm64 is int8 with 512-bit SVE, and the
  // cores with that (A64FX) have no SDOT.
  if (want != Precision::fp32 && !force_onednn && NeonConv3x3::available(want)) {
    neon_ = std::make_unique<NeonConv3x3>(c, want);
    native_ = want;
  }
#endif
  // A recorded low precision allows it; it does not demand it. Where the conv has the Winograd
  // form, that fp32 form beat oneDNN's bf16 (AVX512-BF16) and its int8 without VNNI (AVX2's
  // VPMADDUBSW) on the development machine, while staying within fp32's rounding; only int8 on
  // VNNI was faster (docs/benchmarks.md, "Winograd"). So those run fp32, and oneDNN is asked
  // about a recorded bf16 only where there is no Winograd form. (The NEON forms were never timed
  // against it, and keep the recorded precision.)
  const bool ask_onednn = !neon_ && want != Precision::fp32 && !(winograd_ && want == Precision::bf16);
  const std::string low_impl = ask_onednn ? onednn_impl(want, c.in, c.out) : "";
  if (native_impl(low_impl)) native_ = want;
  if (winograd_ && !neon_ && native_ == Precision::int8 && low_impl.find("vnni") == std::string::npos)
    native_ = Precision::fp32;
#ifdef SCALES_HAVE_BLAS_CONV
  if (!force_onednn && !native_impl(onednn_impl(Precision::fp32, c.in, c.out)))
    blas_ = std::make_unique<BlasConv3x3>(c);
#endif
  if (native_ == Precision::int8 && !neon_) impl_->q = quantize_conv(c);
}

const ConvParams& Conv3x3::params() const { return impl_->p; }

const char* Conv3x3::fp32_path() const {
  return narrow_ ? "narrow" : winograd_ ? "winograd" : blas_ ? "blas" : "onednn";
}

const char* Conv3x3::low_precision_path() const {
  return native_ == Precision::fp32 ? "none" : neon_ ? "neon" : "onednn";
}

Conv3x3::~Conv3x3() = default;

void Conv3x3::run(const float* src, int height, int width, float* dst, int threads, bool low_precision) const {
  if (narrow_) return narrow_->run_rows_of_band(src, height, width, 0, height, dst, threads);
  if (!low_precision || native_ == Precision::fp32) return run_rows(src, height, width, 0, height, dst, threads, false);
  // Bands, so each converted input band is small and still in cache when the conv reads it.
  const int band = std::max<int>(1, static_cast<int>(kBandBytes / (sizeof(float) * in_ * std::max(width, 1))));
  for (int r0 = 0; r0 < height; r0 += band) {
    const int r1 = std::min(height, r0 + band);
    run_rows(src, height, width, r0, r1, dst + static_cast<size_t>(r0) * width * out_, threads, true);
  }
}

void Conv3x3::run_rows(const float* src, int height, int width, int row0, int row1, float* dst, int threads,
                       bool low_precision) const {
  if (winograd_ && (!low_precision || native_ == Precision::fp32))
    return winograd_->run_rows(src, height, width, row0, row1, dst, threads);
  const int s0 = std::max(0, row0 - 1);
  run_rows_of_band(src + static_cast<size_t>(s0) * width * in_, height, width, row0, row1, dst, threads, low_precision);
}

void Conv3x3::run_rows_of_band(const float* band, int height, int width, int row0, int row1, float* dst, int threads,
                               bool low_precision) const {
  if (narrow_) return narrow_->run_rows_of_band(band, height, width, row0, row1, dst, threads);
  const Precision prec = low_precision ? native_ : Precision::fp32;
#ifdef SCALES_HAVE_BLAS_CONV
  if (blas_ && prec == Precision::fp32) return blas_->run_rows_of_band(band, height, width, row0, row1, dst, threads);
#endif
#ifdef SCALES_HAVE_NEON_LOWP_CONV
  if (neon_ && prec != Precision::fp32) return neon_->run_rows_of_band(band, height, width, row0, row1, dst, threads);
#endif
  OmpThreads scoped(threads);
  const int s0 = std::max(0, row0 - 1), s1 = std::min(height, row1 + 1);
  const Impl::Key key{prec, s1 - s0, width, row0 == 0 ? 1 : 0, row1 == height ? 1 : 0};
  auto& eng = cpu_engine();
  dnnl::stream strm(eng);
  std::shared_ptr<const Impl::Entry> e;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    e = impl_->entry(key, strm);
  }
  memory f32_src(memory::desc({1, in_, s1 - s0, width}, dt::f32, tag::nhwc), eng, const_cast<float*>(band));
  memory src_mem = f32_src;
  if (prec != Precision::fp32) {
    src_mem = memory(e->src_md, eng);
    e->to_src.execute(strm, f32_src, src_mem);
  }
  memory dst_mem(memory::desc({1, out_, row1 - row0, width}, dt::f32, tag::nhwc), eng, dst);
  float* bias = prec == Precision::int8 ? impl_->q.bias_in_acc_units.data() : impl_->p.bias.data();
  memory bias_mem(memory::desc({out_}, dt::f32, tag::x), eng, bias);
  memory scratchpad(e->scratchpad_md, eng);
  e->conv.execute(strm, {{DNNL_ARG_SRC, src_mem},
                         {DNNL_ARG_WEIGHTS, e->weights},
                         {DNNL_ARG_BIAS, bias_mem},
                         {DNNL_ARG_DST, dst_mem},
                         {DNNL_ARG_SCRATCHPAD, scratchpad}});
  strm.wait();
}

}  // namespace scales::fp
