// SCALES-EDSR on the GPU, read top to bottom (the CPU version is net/edsr.cc):
//
//   x0 = in - rgb_mean                    add_rgb_mean
//   f0 = head(x0)                         im2col + cuBLAS SGEMM + bias
//   f  = body(f0)                         per binary layer: pack signs (+ s[p]), channel sums and
//                                         factors, binary conv with the fused epilogue (in place)
//   f  = f + f0
//   f  = shuffle_r(up_j(f))               SGEMM conv, pixel shuffle
//   out = tail(f) + rgb_mean
//
// All of a batch's tiles run in every launch (the batch is the outer dimension of each map), on
// one stream; the host waits once, when the outputs are copied back.
#include "cuda/edsr_cuda.h"

#include <algorithm>

#include "bconv/epilogue.h"
#include "cuda/bmma_weights.h"
#include "cuda/check.h"
#include "cuda/kernels.h"

namespace scales::cuda {

namespace {
constexpr size_t kIm2colBytes = size_t{128} << 20;  // im2col scratch per conv, in chunks of pixels
}

CudaEdsr::Conv CudaEdsr::upload(const model::FpConv& c) {
  Conv d;
  d.out = c.out;
  d.in = c.in;
  d.weight = DeviceArray<float>(c.weight);
  d.bias = DeviceArray<float>(c.bias);
  weight_bytes_ += d.weight.bytes() + d.bias.bytes();
  return d;
}

CudaEdsr::CudaEdsr(const model::EdsrWeights& w, BconvKernel kernel)
    : info_(w.info),
      words_(w.words),
      up_factor_(w.up_factor),
      // Widths the tensor-core kernel does not take (not a multiple of 8, over 256) use the
      // reference conv.
      kernel_(kernel == BconvKernel::bmma && bmma_supported(w.info.channels) ? kernel : BconvKernel::ref) {
  std::copy(w.rgb_mean, w.rgb_mean + 3, rgb_mean_);
  head_ = upload(w.head);
  tail_ = upload(w.tail);
  for (const auto& u : w.up) up_.push_back(upload(u));
  const int c = w.info.channels, words = w.words;
  auto add = [&](const model::ResConv& rc, const std::vector<float>* prelu) {
    Layer L;
    L.rc = rc;
    L.binary = rc.binary;
    if (!rc.binary) {
      L.fp = upload(rc.fp);
    } else {
      L.bits = DeviceArray<uint64_t>(rc.weight_bits);
      const BmmaWeights bw = make_bmma_weights(rc.weight_bits, c, words);
      L.chunks = DeviceArray<uint64_t>(bw.chunks);
      L.popc_w = DeviceArray<int>(bw.popc);
      L.gk = DeviceArray<float>(bconv::scale_factors(rc));
      L.shift = DeviceArray<float>(rc.shift);
      L.spatial_w = DeviceArray<float>(rc.spatial_w);
      L.spatial_b = rc.spatial_b;
      L.fc1_w = DeviceArray<float>(rc.fc1_w);
      L.fc1_b = DeviceArray<float>(rc.fc1_b);
      L.fc2_w = DeviceArray<float>(rc.fc2_w);
      L.fc2_b = DeviceArray<float>(rc.fc2_b);
      L.hidden = rc.hidden;
      weight_bytes_ += L.bits.bytes() + L.chunks.bytes() + L.gk.bytes() + L.fc1_w.bytes() + L.fc2_w.bytes();
    }
    if (prelu) L.prelu = DeviceArray<float>(*prelu);
    body_.push_back(std::move(L));
  };
  for (const auto& b : w.blocks) {
    add(b.conv1, &b.act);
    add(b.conv2, nullptr);
  }
  add(w.body_end, nullptr);
}

// y (n h w, out) = conv3x3(x) + bias: im2col of a chunk of pixels, one SGEMM against the (out, 9 in)
// weight matrix per chunk. Column-major view: Y^T (out x np) = W (out x K) * col^T (K x np).
DevicePool::Buffer CudaEdsr::conv(const Conv& c, const float* x, int n, int h, int w, DevicePool& pool,
                                  cublasHandle_t blas, cudaStream_t st) const {
  const int64_t pixels = static_cast<int64_t>(n) * h * w;
  const int k = 9 * c.in;
  auto y = pool.acquire(static_cast<size_t>(pixels) * c.out * sizeof(float));
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(pixels, kIm2colBytes / (sizeof(float) * k)));
  auto col = pool.acquire(static_cast<size_t>(chunk) * k * sizeof(float));
  const float one = 1.0f, zero = 0.0f;
  for (int64_t p0 = 0; p0 < pixels; p0 += chunk) {
    const int64_t np = std::min(chunk, pixels - p0);
    im2col3x3(x, n, h, w, c.in, p0, np, col.as<float>(), st);
    SCALES_CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, c.out, static_cast<int>(np), k, &one,
                                    c.weight.get(), k, col.as<float>(), k, &zero, y.as<float>() + p0 * c.out, c.out));
  }
  add_bias(y.as<float>(), c.bias.get(), pixels, c.out, st);
  return y;
}

std::vector<Image> CudaEdsr::forward(const std::vector<const Image*>& tiles, const std::vector<net::StatsPlan>& plans,
                                     DevicePool& pool, cublasHandle_t blas, cudaStream_t st) const {
  if (tiles.empty()) return {};
  if (plans.size() != tiles.size()) throw Error("CUDA forward: one statistics plan per tile expected");
  const int n = static_cast<int>(tiles.size()), h = tiles[0]->height, w = tiles[0]->width;
  for (const Image* t : tiles)
    if (t->width != w || t->height != h) throw Error("CUDA forward: the tiles of one batch must have one size");
  const int c = info_.channels;
  const int64_t lr_pixels = static_cast<int64_t>(n) * h * w;
  bool all_collect = true;
  for (const auto& p : plans) all_collect = all_collect && p.collect;

  // Input, mean removed.
  auto x0 = pool.acquire(static_cast<size_t>(lr_pixels) * 3 * sizeof(float));
  for (int i = 0; i < n; ++i)
    SCALES_CUDA_CHECK(cudaMemcpyAsync(x0.as<float>() + static_cast<int64_t>(i) * h * w * 3, tiles[i]->rgb.data(),
                                      static_cast<size_t>(h) * w * 3 * sizeof(float), cudaMemcpyHostToDevice, st));
  add_rgb_mean(x0.as<float>(), lr_pixels, rgb_mean_[0], rgb_mean_[1], rgb_mean_[2], -1.0f, st);
  auto f0 = conv(head_, x0.as<float>(), n, h, w, pool, blas, st);
  x0.reset();
  auto f = pool.acquire(static_cast<size_t>(lr_pixels) * c * sizeof(float));
  SCALES_CUDA_CHECK(cudaMemcpyAsync(f.get(), f0.get(), static_cast<size_t>(lr_pixels) * c * sizeof(float),
                                    cudaMemcpyDeviceToDevice, st));

  // Body.
  if (info_.binary) {
    const size_t packed_words = static_cast<size_t>(n) * (h + 2) * (w + 2) * words_;
    auto packed = pool.acquire(packed_words * sizeof(uint64_t));
    SCALES_CUDA_CHECK(cudaMemsetAsync(packed.get(), 0, packed_words * sizeof(uint64_t), st));  // border = +1
    auto s = pool.acquire(static_cast<size_t>(lr_pixels) * sizeof(float));
    auto sums = pool.acquire(static_cast<size_t>(n) * c * sizeof(double));
    auto partial = pool.acquire(static_cast<size_t>(n) * sum_bands(h) * c * sizeof(double));
    auto cfac = pool.acquire(static_cast<size_t>(n) * c * sizeof(float));
    DevicePool::Buffer ybin;
    if (kernel_ == BconvKernel::ref) ybin = pool.acquire(static_cast<size_t>(lr_pixels) * c * sizeof(int32_t));
    // Per item: the whole tile (its own statistics), the core (collect mode), the tile's pixels.
    std::vector<int4> whole(n, int4{0, 0, w, h}), cores(n, int4{0, 0, w, h});
    std::vector<double> pixels(n, static_cast<double>(h) * w);
    for (int i = 0; i < n; ++i)
      if (plans[i].collect) {
        const auto& r = plans[i].core;
        cores[i] = int4{r.x0, r.y0, r.x1, r.y1};
      }
    auto rects = pool.acquire(2 * n * sizeof(int4) + n * sizeof(double));
    int4* d_whole = rects.as<int4>();
    int4* d_cores = d_whole + n;
    double* d_pixels = reinterpret_cast<double*>(d_cores + n);
    SCALES_CUDA_CHECK(cudaMemcpyAsync(d_whole, whole.data(), n * sizeof(int4), cudaMemcpyHostToDevice, st));
    SCALES_CUDA_CHECK(cudaMemcpyAsync(d_cores, cores.data(), n * sizeof(int4), cudaMemcpyHostToDevice, st));
    SCALES_CUDA_CHECK(cudaMemcpyAsync(d_pixels, pixels.data(), n * sizeof(double), cudaMemcpyHostToDevice, st));
    std::vector<double> host_sums(static_cast<size_t>(n) * c);
    std::vector<float> host_cfac;

    for (size_t li = 0; li < body_.size(); ++li) {
      const Layer& L = body_[li];
      const bool spatial = L.spatial_w.get() != nullptr, channel = L.fc1_w.get() != nullptr;
      pack_signs(f.as<float>(), n, h, w, c, L.shift.get(), L.spatial_w.get(), L.spatial_b, packed.as<uint64_t>(),
                 spatial ? s.as<float>() : nullptr, st);
      if (channel) {
        channel_sums(f.as<float>(), n, h, w, c, d_whole, partial.as<double>(), sums.as<double>(), st);
        channel_factors(sums.as<double>(), d_pixels, L.fc1_w.get(), L.fc1_b.get(), L.fc2_w.get(), L.fc2_b.get(), n, c,
                        L.hidden, cfac.as<float>(), st);
        for (int i = 0; i < n; ++i)
          if (plans[i].use) {  // image-wide statistics: the factors come from the host
            host_cfac = bconv::channel_factors(L.rc, plans[i].use->layer_sums.at(li), plans[i].use->pixels);
            SCALES_CUDA_CHECK(cudaMemcpyAsync(cfac.as<float>() + static_cast<int64_t>(i) * c, host_cfac.data(),
                                              c * sizeof(float), cudaMemcpyHostToDevice, st));
            SCALES_CUDA_CHECK(cudaStreamSynchronize(st));  // host_cfac is reused
          }
        bool any_collect = false;
        for (const auto& p : plans) any_collect = any_collect || p.collect;
        if (any_collect) {
          channel_sums(f.as<float>(), n, h, w, c, d_cores, partial.as<double>(), sums.as<double>(), st);
          SCALES_CUDA_CHECK(cudaMemcpyAsync(host_sums.data(), sums.get(), host_sums.size() * sizeof(double),
                                            cudaMemcpyDeviceToHost, st));
          SCALES_CUDA_CHECK(cudaStreamSynchronize(st));
          for (int i = 0; i < n; ++i) {
            if (!plans[i].collect) continue;
            auto& acc = plans[i].collect->layer_sums;
            if (acc.size() < body_.size()) acc.resize(body_.size());
            if (acc[li].empty()) acc[li].assign(c, 0.0);
            for (int ch = 0; ch < c; ++ch) acc[li][ch] += host_sums[static_cast<size_t>(i) * c + ch];
          }
        }
      }
      const float* sp = spatial ? s.as<float>() : nullptr;
      const float* cf = channel ? cfac.as<float>() : nullptr;
      if (kernel_ == BconvKernel::bmma) {
        bconv3x3_bmma(packed.as<uint64_t>(), n, h, w, words_, L.chunks.get(), L.popc_w.get(), c, c, L.gk.get(), sp, cf,
                      L.prelu.get(), f.as<float>(), st);
      } else {
        bconv3x3_ref(packed.as<uint64_t>(), n, h, w, words_, L.bits.get(), c, c, ybin.as<int32_t>(), st);
        bconv_epilogue(ybin.as<int32_t>(), L.gk.get(), sp, cf, L.prelu.get(), n, h, w, c, f.as<float>(), st);
      }
    }
  } else {
    for (const Layer& L : body_) {
      auto y = conv(L.fp, f.as<float>(), n, h, w, pool, blas, st);
      residual_add(f.as<float>(), y.as<float>(), L.prelu.get(), lr_pixels, c, st);
    }
  }
  std::vector<Image> out(n);
  if (all_collect) {
    SCALES_CUDA_CHECK(cudaStreamSynchronize(st));
    return out;
  }
  residual_add(f.as<float>(), f0.as<float>(), nullptr, lr_pixels, c, st);
  f0.reset();

  int hh = h, ww = w;
  for (size_t j = 0; j < up_.size(); ++j) {
    const int r = up_factor_[j];
    auto g = conv(up_[j], f.as<float>(), n, hh, ww, pool, blas, st);
    auto hr = pool.acquire(static_cast<size_t>(n) * hh * r * ww * r * c * sizeof(float));
    pixel_shuffle(g.as<float>(), n, hh, ww, c, r, hr.as<float>(), st);
    f = std::move(hr);
    hh *= r;
    ww *= r;
  }
  auto rgb = conv(tail_, f.as<float>(), n, hh, ww, pool, blas, st);
  f.reset();
  const int64_t hr_pixels = static_cast<int64_t>(n) * hh * ww;
  add_rgb_mean(rgb.as<float>(), hr_pixels, rgb_mean_[0], rgb_mean_[1], rgb_mean_[2], 1.0f, st);
  for (int i = 0; i < n; ++i) {
    if (plans[i].collect) continue;
    out[i].width = ww;
    out[i].height = hh;
    out[i].rgb.resize(static_cast<size_t>(hh) * ww * 3);
    SCALES_CUDA_CHECK(cudaMemcpyAsync(out[i].rgb.data(), rgb.as<float>() + static_cast<int64_t>(i) * hh * ww * 3,
                                      out[i].rgb.size() * sizeof(float), cudaMemcpyDeviceToHost, st));
  }
  SCALES_CUDA_CHECK(cudaStreamSynchronize(st));
  return out;
}

}  // namespace scales::cuda
