// The CUDA backend (backend/backend.h): one device, one stream, one cuBLAS handle, pooled device
// memory, and each network's op parameters uploaded on first use (cuda/op_weights.h). It runs
// the ops in cuda/cuda_ops.h; the executor gives the others (SwinIR's LayerNorm, linears and
// attention, a padded input) to the CPU. Batches run one at a time: begin() takes the device
// and end() gives it back.
#include <chrono>
#include <cstdlib>
#include <list>
#include <mutex>

#include "backend/backend.h"
#include "cuda/check.h"
#include "cuda/cuda_ops.h"
#include "cuda/kernels.h"

namespace scales::backend {

namespace {

constexpr size_t kMaxResidentNetworks = 8;  // least recently used networks' weights are dropped

class CudaBackend final : public Backend {
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

  bool supports(const net::Op& op) const override {
    if (const auto* in = op.as<net::op::Input>()) return in->align == 1;  // padding runs on the CPU
    return op.as<net::op::Conv>() || op.as<net::op::ConvShuffle>() || op.as<net::op::BinaryResidual>() ||
           op.as<net::op::ConvResidual>() || op.as<net::op::Add>() || op.as<net::op::Copy>() ||
           op.as<net::op::Output>();
  }

  void begin(Batch&) override {
    mu_.lock();
    try {
      SCALES_CUDA_CHECK(cudaSetDevice(device_));  // the calling thread may be new
      SCALES_CUDA_CHECK(cudaEventRecord(start_, stream_));
    } catch (...) {
      mu_.unlock();
      throw;
    }
  }

  // Device time from begin to end, waits for the CPU's ops included. Errors are not thrown from
  // here (it runs while an exception may be unwinding); the next call reports a broken device.
  void end(Batch& b) override {
    float ms = 0;
    if (cudaEventRecord(stop_, stream_) == cudaSuccess && cudaEventSynchronize(stop_) == cudaSuccess &&
        cudaEventElapsedTime(&ms, start_, stop_) == cudaSuccess) {
      std::lock_guard<std::mutex> lk(stats_mu_);
      stats_.kernel_seconds += ms / 1000.0;
      stats_.batches += 1;
      stats_.tiles += b.size();
    }
    mu_.unlock();
  }

  void to_device(Batch& b, int t) override {
    cuda::Context cx{pool_, blas_, stream_};
    cuda::upload(b, b.tensors[t], cx);
  }
  void to_host(Batch& b, int t) override {
    cuda::Context cx{pool_, blas_, stream_};
    cuda::download(b, b.tensors[t], cx);
  }

  size_t run(const net::Network& net, size_t i, Batch& b) override {
    const net::Program& prog = net.program();
    const net::Op& op = prog.ops[i];
    const cuda::ResidentNetwork& rn = resident(net);
    cuda::Context cx{pool_, blas_, stream_};
    backend::Tensor* x = op.x >= 0 ? &b.tensors[op.x] : nullptr;
    backend::Tensor* y = op.y >= 0 ? &b.tensors[op.y] : nullptr;
    if (const auto* p = op.as<net::op::Input>()) {
      cuda::input(*p, b, *y, cx);
    } else if (op.as<net::op::Conv>()) {
      cuda::conv(rn.op(i).conv, b, *x, *y, cx);
    } else if (const auto* p = op.as<net::op::ConvShuffle>()) {
      cuda::conv_shuffle(rn.op(i).conv, p->r, b, *x, *y, cx);
    } else if (op.as<net::op::ConvResidual>()) {
      cuda::conv_residual(rn.op(i), b, *y, cx);
    } else if (const auto* p = op.as<net::op::BinaryResidual>()) {
      cuda::binary_residual(*p, rn.op(i), prog.stats_slots, b, *y, cx);
    } else if (op.as<net::op::Add>()) {
      cuda::add(b, *x, *y, cx);
    } else if (op.as<net::op::Copy>()) {
      cuda::copy(b, *x, *y, cx);
    } else if (const auto* p = op.as<net::op::Output>()) {
      cuda::output(*p, b, *x, cx);
    } else {
      throw Error(std::string("the CUDA backend has no ") + net::op_name(op) + " op");
    }
    return i + 1;
  }

  DeviceStats stats() const override {
    std::lock_guard<std::mutex> lk(stats_mu_);
    DeviceStats s = stats_;
    s.device = name();
    s.memory_in_use = pool_.in_use() + weight_bytes_;
    s.memory_reserved = pool_.reserved() + weight_bytes_;
    return s;
  }

 private:
  const cuda::ResidentNetwork& resident(const net::Network& net) {
    for (auto it = nets_.begin(); it != nets_.end(); ++it)
      if (it->first == net.instance_id()) {
        nets_.splice(nets_.begin(), nets_, it);
        return *nets_.front().second;
      }
    auto d = std::make_unique<cuda::ResidentNetwork>(net.program(), kernel_);
    std::lock_guard<std::mutex> lk(stats_mu_);
    weight_bytes_ += d->bytes();
    nets_.emplace_front(net.instance_id(), std::move(d));
    while (nets_.size() > kMaxResidentNetworks) {
      weight_bytes_ -= nets_.back().second->bytes();
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
  std::mutex mu_;                // held from begin() to end(): one batch at a time on the device
  mutable std::mutex stats_mu_;  // guards stats_ and weight_bytes_: stats() may be called while a batch runs
  cuda::DevicePool pool_;
  std::list<std::pair<uint64_t, std::unique_ptr<cuda::ResidentNetwork>>> nets_;  // most recent first
  size_t weight_bytes_ = 0;
  DeviceStats stats_;
};

}  // namespace

bool cuda_built() { return true; }

std::unique_ptr<Backend> make_cuda_backend(int device) { return std::make_unique<CudaBackend>(device); }

}  // namespace scales::backend
