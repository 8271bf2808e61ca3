// The CUDA backend's ops (the CPU versions are in backend/cpu/): FP convs as im2col + cuBLAS
// SGEMM, binary residual convs as sign packing, channel statistics and the binary conv with its
// SCALES epilogue (fused in the tensor-core kernel), and the glue.
#include "cuda/cuda_ops.h"

#include <algorithm>

#include "bconv/epilogue.h"
#include "cuda/check.h"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {

constexpr size_t kIm2colBytes = size_t{128} << 20;  // im2col scratch per conv, in chunks of pixels

int64_t pixels(const backend::Batch& b, const backend::Tensor& t) { return int64_t{b.size()} * t.h * t.w; }

// y (n h w, out) = conv3x3(x) + bias: im2col of a chunk of pixels, one SGEMM against the (out, 9 in)
// weight matrix per chunk. Column-major view: Y^T (out x np) = W (out x K) * col^T (K x np).
DevicePool::Buffer conv_into(const DeviceConv& c, const float* x, int n, int h, int w, Context& cx) {
  const int64_t px = static_cast<int64_t>(n) * h * w;
  const int k = 9 * c.in;
  auto y = cx.pool.acquire(static_cast<size_t>(px) * c.out * sizeof(float));
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(px, kIm2colBytes / (sizeof(float) * k)));
  auto col = cx.pool.acquire(static_cast<size_t>(chunk) * k * sizeof(float));
  const float one = 1.0f, zero = 0.0f;
  for (int64_t p0 = 0; p0 < px; p0 += chunk) {
    const int64_t np = std::min(chunk, px - p0);
    im2col3x3(x, n, h, w, c.in, p0, np, col.as<float>(), cx.st);
    SCALES_CUBLAS_CHECK(cublasSgemm(cx.blas, CUBLAS_OP_T, CUBLAS_OP_N, c.out, static_cast<int>(np), k, &one,
                                    c.weight.get(), k, col.as<float>(), k, &zero, y.as<float>() + p0 * c.out, c.out));
  }
  add_bias(y.as<float>(), c.bias.get(), px, c.out, cx.st);
  return y;
}

void set_device(backend::Tensor& t, DevicePool::Buffer buf, int h, int w, int c) {
  auto d = std::make_unique<CudaTensor>();
  d->buf = std::move(buf);
  t.h = h;
  t.w = w;
  t.c = c;
  t.host.clear();
  t.device = std::move(d);
  t.on_device = true;
  t.on_host = false;
}

}  // namespace

float* device_data(const backend::Tensor& t) { return static_cast<CudaTensor&>(*t.device).buf.as<float>(); }

void make_device(backend::Tensor& t, int n, int h, int w, int c, Context& cx) {
  set_device(t, cx.pool.acquire(static_cast<size_t>(n) * h * w * c * sizeof(float)), h, w, c);
}

void upload(backend::Batch& b, backend::Tensor& t, Context& cx) {
  auto buf = cx.pool.acquire(b.size() * t.item_floats() * sizeof(float));
  for (int i = 0; i < b.size(); ++i)
    SCALES_CUDA_CHECK(cudaMemcpyAsync(buf.as<float>() + i * t.item_floats(), t.item(i), t.item_floats() * sizeof(float),
                                      cudaMemcpyHostToDevice, cx.st));
  SCALES_CUDA_CHECK(cudaStreamSynchronize(cx.st));  // the host maps may go once this returns
  auto d = std::make_unique<CudaTensor>();
  d->buf = std::move(buf);
  t.device = std::move(d);
  t.on_device = true;
}

void download(backend::Batch& b, backend::Tensor& t, Context& cx) {
  t.host.clear();
  for (int i = 0; i < b.size(); ++i) t.host.push_back(b.host_memory->acquire(t.item_floats()));
  for (int i = 0; i < b.size(); ++i)
    SCALES_CUDA_CHECK(cudaMemcpyAsync(t.item(i), device_data(t) + i * t.item_floats(), t.item_floats() * sizeof(float),
                                      cudaMemcpyDeviceToHost, cx.st));
  SCALES_CUDA_CHECK(cudaStreamSynchronize(cx.st));
  t.on_host = true;
}

void input(const net::op::Input& p, backend::Batch& b, backend::Tensor& y, Context& cx) {
  const int h = b.in[0]->height, w = b.in[0]->width;
  make_device(y, b.size(), h, w, 3, cx);
  for (int i = 0; i < b.size(); ++i)
    SCALES_CUDA_CHECK(cudaMemcpyAsync(device_data(y) + y.item_floats() * i, b.in[i]->rgb.data(),
                                      y.item_floats() * sizeof(float), cudaMemcpyHostToDevice, cx.st));
  add_rgb_mean(device_data(y), pixels(b, y), p.mean[0], p.mean[1], p.mean[2], -1.0f, cx.st);
  SCALES_CUDA_CHECK(cudaStreamSynchronize(cx.st));  // the inputs are the caller's
}

void conv(const DeviceConv& w, backend::Batch& b, const backend::Tensor& x, backend::Tensor& y, Context& cx) {
  auto out = conv_into(w, device_data(x), b.size(), x.h, x.w, cx);
  set_device(y, std::move(out), x.h, x.w, w.out);
}

void conv_shuffle(const DeviceConv& w, int r, backend::Batch& b, const backend::Tensor& x, backend::Tensor& y,
                  Context& cx) {
  const int c = w.out / (r * r);
  auto g = conv_into(w, device_data(x), b.size(), x.h, x.w, cx);
  auto hr = cx.pool.acquire(static_cast<size_t>(b.size()) * x.h * r * x.w * r * c * sizeof(float));
  pixel_shuffle(g.as<float>(), b.size(), x.h, x.w, c, r, hr.as<float>(), cx.st);
  set_device(y, std::move(hr), x.h * r, x.w * r, c);
}

void conv_residual(const DeviceOp& w, backend::Batch& b, backend::Tensor& x, Context& cx) {
  auto y = conv_into(w.conv, device_data(x), b.size(), x.h, x.w, cx);
  residual_add(device_data(x), y.as<float>(), w.prelu.get(), pixels(b, x), x.c, cx.st);
}

void binary_residual(const net::op::BinaryResidual& p, const DeviceOp& w, int stats_slots, backend::Batch& b,
                     backend::Tensor& x, Context& cx) {
  const DeviceBinaryLayer& L = w.binary;
  const int n = b.size(), h = x.h, wd = x.w, c = x.c, words = (c + 63) / 64;
  const int64_t px = pixels(b, x);
  const bool spatial = L.spatial_w.get() != nullptr, channel = L.fc1_w.get() != nullptr;
  const size_t packed_words = static_cast<size_t>(n) * (h + 2) * (wd + 2) * words;
  auto packed = cx.pool.acquire(packed_words * sizeof(uint64_t));
  SCALES_CUDA_CHECK(cudaMemsetAsync(packed.get(), 0, packed_words * sizeof(uint64_t), cx.st));  // border = +1
  auto s = cx.pool.acquire(static_cast<size_t>(px) * sizeof(float));
  float* xd = device_data(x);
  pack_signs(xd, n, h, wd, c, L.shift.get(), L.spatial_w.get(), L.spatial_b, packed.as<uint64_t>(),
             spatial ? s.as<float>() : nullptr, cx.st);

  DevicePool::Buffer cfac;
  if (channel) {
    // Per item: the whole tile (its own statistics) and the core (collect mode).
    std::vector<int4> rects(2 * n, int4{0, 0, wd, h});
    std::vector<double> px_item(n, static_cast<double>(h) * wd);
    bool any_collect = false;
    for (int i = 0; i < n; ++i)
      if (p.stats_slot >= 0 && b.plans[i].collect) {
        const auto& r = b.plans[i].core;
        rects[n + i] = int4{r.x0, r.y0, r.x1, r.y1};
        any_collect = true;
      }
    auto meta = cx.pool.acquire(2 * n * sizeof(int4) + n * sizeof(double));
    int4* d_rects = meta.as<int4>();
    double* d_pixels = reinterpret_cast<double*>(d_rects + 2 * n);
    SCALES_CUDA_CHECK(cudaMemcpyAsync(d_rects, rects.data(), 2 * n * sizeof(int4), cudaMemcpyHostToDevice, cx.st));
    SCALES_CUDA_CHECK(cudaMemcpyAsync(d_pixels, px_item.data(), n * sizeof(double), cudaMemcpyHostToDevice, cx.st));
    auto sums = cx.pool.acquire(static_cast<size_t>(n) * c * sizeof(double));
    auto partial = cx.pool.acquire(static_cast<size_t>(n) * sum_bands(h) * c * sizeof(double));
    cfac = cx.pool.acquire(static_cast<size_t>(n) * c * sizeof(float));
    channel_sums(xd, n, h, wd, c, d_rects, partial.as<double>(), sums.as<double>(), cx.st);
    channel_factors(sums.as<double>(), d_pixels, L.fc1_w.get(), L.fc1_b.get(), L.fc2_w.get(), L.fc2_b.get(), n, c,
                    L.hidden, cfac.as<float>(), cx.st);
    for (int i = 0; i < n; ++i)
      if (p.stats_slot >= 0 && b.plans[i].use) {  // image-wide statistics: the factors come from the host
        const auto& use = *b.plans[i].use;
        const std::vector<float> host_cfac =
            bconv::channel_factors(*p.layer->p, use.layer_sums.at(p.stats_slot), use.pixels);
        SCALES_CUDA_CHECK(cudaMemcpyAsync(cfac.as<float>() + static_cast<int64_t>(i) * c, host_cfac.data(),
                                          c * sizeof(float), cudaMemcpyHostToDevice, cx.st));
        SCALES_CUDA_CHECK(cudaStreamSynchronize(cx.st));  // host_cfac goes at the end of this scope
      }
    if (any_collect) {
      std::vector<double> host_sums(static_cast<size_t>(n) * c);
      channel_sums(xd, n, h, wd, c, d_rects + n, partial.as<double>(), sums.as<double>(), cx.st);
      SCALES_CUDA_CHECK(cudaMemcpyAsync(host_sums.data(), sums.get(), host_sums.size() * sizeof(double),
                                        cudaMemcpyDeviceToHost, cx.st));
      SCALES_CUDA_CHECK(cudaStreamSynchronize(cx.st));
      for (int i = 0; i < n; ++i) {
        if (!b.plans[i].collect) continue;
        auto& acc = b.plans[i].collect->layer_sums;
        if (acc.size() < static_cast<size_t>(stats_slots)) acc.resize(stats_slots);
        if (acc[p.stats_slot].empty()) acc[p.stats_slot].assign(c, 0.0);
        for (int ch = 0; ch < c; ++ch) acc[p.stats_slot][ch] += host_sums[static_cast<size_t>(i) * c + ch];
      }
    }
  }
  const float* sp = spatial ? s.as<float>() : nullptr;
  const float* cf = channel ? cfac.as<float>() : nullptr;
  if (L.kernel == BconvKernel::bmma) {
    bconv3x3_bmma(packed.as<uint64_t>(), n, h, wd, words, L.chunks.get(), L.popc_w.get(), c, c, L.gk.get(), sp, cf,
                  w.prelu.get(), xd, cx.st);
  } else {
    auto ybin = cx.pool.acquire(static_cast<size_t>(px) * c * sizeof(int32_t));
    bconv3x3_ref(packed.as<uint64_t>(), n, h, wd, words, L.bits.get(), c, c, ybin.as<int32_t>(), cx.st);
    bconv_epilogue(ybin.as<int32_t>(), L.gk.get(), sp, cf, w.prelu.get(), n, h, wd, c, xd, cx.st);
  }
}

void add(backend::Batch& b, const backend::Tensor& x, backend::Tensor& y, Context& cx) {
  if (x.h != y.h || x.w != y.w || x.c != y.c) throw Error("add: tensors of different shapes");
  residual_add(device_data(y), device_data(x), nullptr, pixels(b, x), x.c, cx.st);
}

void copy(backend::Batch& b, const backend::Tensor& x, backend::Tensor& y, Context& cx) {
  make_device(y, b.size(), x.h, x.w, x.c, cx);
  SCALES_CUDA_CHECK(cudaMemcpyAsync(device_data(y), device_data(x), b.size() * x.item_floats() * sizeof(float),
                                    cudaMemcpyDeviceToDevice, cx.st));
}

void output(const net::op::Output& p, backend::Batch& b, const backend::Tensor& x, Context& cx) {
  if (x.c != 3) throw Error("output: the last tensor has " + std::to_string(x.c) + " channels, not 3");
  add_rgb_mean(device_data(x), pixels(b, x), p.mean[0], p.mean[1], p.mean[2], 1.0f, cx.st);
  for (int i = 0; i < b.size(); ++i) {
    Image* img = b.output_image(i, p.scale);
    if (!img) continue;
    const Image& out = *img;
    // The top-left out.width x out.height of the (possibly padded) map.
    SCALES_CUDA_CHECK(cudaMemcpy2DAsync(img->rgb.data(), out.width * 3 * sizeof(float),
                                        device_data(x) + i * x.item_floats(), x.w * 3 * sizeof(float),
                                        out.width * 3 * sizeof(float), out.height, cudaMemcpyDeviceToHost, cx.st));
  }
  SCALES_CUDA_CHECK(cudaStreamSynchronize(cx.st));
}

}  // namespace scales::cuda
