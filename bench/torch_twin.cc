#include "torch_twin.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <chrono>

namespace scales::bench {

namespace {
torch::nn::Conv2d conv(int in, int out) { return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)); }

double since_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

struct TorchFpTwin::Impl {
  int scale;
  torch::nn::Conv2d head{nullptr}, body_end{nullptr}, tail{nullptr};
  std::vector<torch::nn::Conv2d> c1, c2, up;
  std::vector<torch::nn::PReLU> act;
  std::vector<int> factors;

  torch::Tensor forward(torch::Tensor x) {
    const auto mean = torch::tensor({0.45f, 0.44f, 0.40f}).view({1, 3, 1, 1});
    x = x - mean;
    const auto f0 = head->forward(x);
    auto f = f0;
    for (size_t i = 0; i < c1.size(); ++i) {
      f = act[i]->forward(f + c1[i]->forward(f));
      f = f + c2[i]->forward(f);
    }
    f = f + body_end->forward(f);
    f = f + f0;
    for (size_t j = 0; j < up.size(); ++j) f = torch::pixel_shuffle(up[j]->forward(f), factors[j]);
    return tail->forward(f) + mean;
  }
};

TorchFpTwin::TorchFpTwin(int scale, int blocks, int channels) : impl_(std::make_unique<Impl>()) {
  torch::manual_seed(0);
  auto& m = *impl_;
  m.scale = scale;
  m.head = conv(3, channels);
  for (int i = 0; i < blocks; ++i) {
    m.c1.push_back(conv(channels, channels));
    m.c2.push_back(conv(channels, channels));
    m.act.push_back(torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(channels)));
  }
  m.body_end = conv(channels, channels);
  m.factors = scale == 4 ? std::vector<int>{2, 2} : std::vector<int>{scale};
  for (int f : m.factors) m.up.push_back(conv(channels, f * f * channels));
  m.tail = conv(channels, 3);
}

TorchFpTwin::~TorchFpTwin() = default;

double TorchFpTwin::time_forward_ms(int height, int width) {
  torch::InferenceMode guard;
  const auto x = torch::rand({1, 3, height, width});
  const auto t0 = std::chrono::steady_clock::now();
  const auto y = impl_->forward(x);
  const double ms = since_ms(t0);
  if (y.size(2) != height * impl_->scale) throw std::runtime_error("torch twin: wrong output size");
  return ms;
}

struct TorchScriptTwin::Impl {
  torch::jit::script::Module module;
};

TorchScriptTwin::TorchScriptTwin(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->module = torch::jit::load(path);
  impl_->module.eval();
}

TorchScriptTwin::~TorchScriptTwin() = default;

double TorchScriptTwin::time_forward_ms(int height, int width) {
  torch::InferenceMode guard;
  const auto x = torch::rand({1, 3, height, width});
  const auto t0 = std::chrono::steady_clock::now();
  const auto y = impl_->module.forward({x}).toTensor();
  const double ms = since_ms(t0);
  if (y.size(2) % height) throw std::runtime_error("torchscript twin: wrong output size");
  return ms;
}

void torch_set_threads(int threads) { torch::set_num_threads(threads); }

double torch_conv_ms(int c_in, int c_out, int height, int width) {
  torch::InferenceMode guard;
  auto c = conv(c_in, c_out);
  const auto x = torch::randn({1, c_in, height, width});
  c->forward(x);  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  const auto y = c->forward(x);
  return since_ms(t0);
}

}  // namespace scales::bench
