// The CUDA device backend (backend/device_backend.h): one device, one stream, one cuBLAS handle,
// a pooled device memory, and each EDSR network's weights uploaded on first use. Batches run one
// at a time (a mutex); the host thread waits for each batch's results.
#include <chrono>
#include <cstdlib>
#include <list>
#include <mutex>

#include "backend/device_backend.h"
#include "cuda/check.h"
#include "cuda/edsr_cuda.h"
#include "cuda/kernels.h"
#include "net/edsr.h"

namespace scales::backend {

namespace {

constexpr size_t kMaxResidentNetworks = 8;  // least recently used networks' weights are dropped

class CudaBackend final : public DeviceBackend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0)
      throw Error(std::string("no CUDA device: ") + (err != cudaSuccess ? cudaGetErrorString(err) : "none found"));
    if (device < 0 || device >= count)
      throw Error("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " found)");
    SCALES_CUDA_CHECK(cudaSetDevice(device));
    cudaDeviceProp prop{};
    SCALES_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    sm_ = prop.major * 10 + prop.minor;
    name_ = "cuda:" + std::to_string(device) + " " + prop.name + " (sm_" + std::to_string(sm_) + ", " +
            std::to_string(prop.multiProcessorCount) + " SMs)";
    // SCALES_CUDA_KERNEL=ref forces the reference conv (tests, debugging); the tensor-core kernel
    // needs sm_80 or later.
    const char* env = std::getenv("SCALES_CUDA_KERNEL");
    const std::string want = env ? env : "";
    if (!want.empty() && want != "ref" && want != "bmma")
      throw Error("SCALES_CUDA_KERNEL must be ref or bmma, got '" + want + "'");
    if (want == "bmma" && sm_ < 80)
      throw Error("the bmma kernel needs sm_80 or later; this device is sm_" + std::to_string(sm_));
    kernel_ = (want == "ref" || sm_ < 80) ? cuda::BconvKernel::ref : cuda::BconvKernel::bmma;
    SCALES_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    SCALES_CUBLAS_CHECK(cublasCreate(&blas_));
    SCALES_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
    // FP32 products (no TF32): the FP layers then match the CPU engine to float rounding.
    SCALES_CUBLAS_CHECK(cublasSetMathMode(blas_, CUBLAS_PEDANTIC_MATH));
    SCALES_CUDA_CHECK(cudaEventCreate(&start_));
    SCALES_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~CudaBackend() override {
    nets_.clear();
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }

  std::string name() const override {
    return name_ + (kernel_ == cuda::BconvKernel::bmma ? ", binary tensor cores" : ", reference kernel");
  }

  bool supports(const net::Network& net) const override { return net::edsr_weights(net) != nullptr; }

  std::vector<Image> forward(const net::Network& net, const std::vector<const Image*>& tiles,
                             const std::vector<net::StatsPlan>& plans) override {
    std::lock_guard<std::mutex> lk(mu_);
    SCALES_CUDA_CHECK(cudaSetDevice(device_));  // the calling thread may be new
    const cuda::CudaEdsr& d = resident(net);
    SCALES_CUDA_CHECK(cudaEventRecord(start_, stream_));
    auto out = d.forward(tiles, plans, pool_, blas_, stream_);
    SCALES_CUDA_CHECK(cudaEventRecord(stop_, stream_));
    SCALES_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    SCALES_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    stats_.kernel_seconds += ms / 1000.0;
    stats_.batches += 1;
    stats_.tiles += tiles.size();
    return out;
  }

  DeviceStats stats() const override {
    std::lock_guard<std::mutex> lk(mu_);
    DeviceStats s = stats_;
    s.device = name();
    s.memory_in_use = pool_.in_use() + weight_bytes_;
    s.memory_reserved = pool_.reserved() + weight_bytes_;
    return s;
  }

 private:
  const cuda::CudaEdsr& resident(const net::Network& net) {
    for (auto it = nets_.begin(); it != nets_.end(); ++it)
      if (it->first == net.instance_id()) {
        nets_.splice(nets_.begin(), nets_, it);
        return *nets_.front().second;
      }
    const model::EdsrWeights* w = net::edsr_weights(net);
    if (!w)
      throw Error("the CUDA backend runs SCALES-EDSR models only; " + net.info().architecture + " runs on the CPU");
    auto d = std::make_unique<cuda::CudaEdsr>(*w, kernel_);
    weight_bytes_ += d->weight_bytes();
    nets_.emplace_front(net.instance_id(), std::move(d));
    while (nets_.size() > kMaxResidentNetworks) {
      weight_bytes_ -= nets_.back().second->weight_bytes();
      nets_.pop_back();
    }
    return *nets_.front().second;
  }

  int device_, sm_ = 0;
  std::string name_;
  cuda::BconvKernel kernel_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  mutable std::mutex mu_;
  cuda::DevicePool pool_;
  std::list<std::pair<uint64_t, std::unique_ptr<cuda::CudaEdsr>>> nets_;  // most recent first
  size_t weight_bytes_ = 0;
  DeviceStats stats_;
};

}  // namespace

bool cuda_built() { return true; }

std::unique_ptr<DeviceBackend> make_cuda_backend(int device) { return std::make_unique<CudaBackend>(device); }

}  // namespace scales::backend
