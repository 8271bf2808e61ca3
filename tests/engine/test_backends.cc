// The backends and the executor: every CPU kernel variant, with its fused binary chains and the
// tail fused into the last upsampler, equals the op-by-op reference bit for bit (backend_harness.h); a device backend
// that runs only some ops gets the rest done on the CPU, with tensors moved between the two, and the same image.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "backend/executor.h"
#include "backend_harness.h"
#include "model/synthetic.h"
#include "net/edsr.h"
#include "scales/engine.h"
#include "test_util.h"

namespace scales {
namespace {

std::shared_ptr<const Model> edsr(int channels) {
  model::SyntheticSpec s;
  s.scale = 2;
  s.blocks = 2;
  s.channels = channels;
  s.components = {"shift", "layer_scale", "spatial", "channel"};
  s.seed = 7 + channels;
  return std::make_shared<Model>(net::make_edsr(model::synthetic_edsr(s)));
}

std::shared_ptr<const Model> swinir() {
  return Model::load(std::string(SCALES_SOURCE_DIR) + "/tests/golden/swinir-fixture-x3.safetensors");
}

TEST(Backends, EveryCpuKernelVariantMatchesTheReferenceOpByOp) {
  const Image a = testing::random_image(19, 13, 3), b = testing::random_image(19, 13, 4);
  // Wide: the fused epilogue's 16-pixel spatial blocks, nine full and a partial one.
  const Image wide = testing::random_image(150, 5, 6);
  const Image sw = testing::random_image(20, 16, 5);
  for (const auto& k : kernels::kernel_variants()) {
    if (!k.supported) continue;
    SCOPED_TRACE(std::string(k.name));
    runtime::ThreadPool pool(2);
    runtime::Workspace ws(size_t{16} << 20);
    backend::CpuBackend cpu(pool, k, ws);
    for (int channels : {32, 65}) {
      const auto m = edsr(channels);
      for (const std::vector<const Image*>& batch : {std::vector<const Image*>{&a, &b}, {&wide}}) {
        const auto checks = testing::compare_op_by_op(m->network(), batch, cpu);
        ASSERT_FALSE(checks.empty());
        bool fused = false;
        for (const auto& c : checks) {
          EXPECT_EQ(c.max_abs, 0.0) << "op " << c.op << " (" << c.name << "), C=" << channels
                                    << ", width=" << batch[0]->width;
          fused = fused || c.ops > 1;
        }
        EXPECT_TRUE(fused) << "the binary body ran op by op: the fused chain went untested";
      }
    }
    const auto m = swinir();
    bool attention = false;
    for (const auto& c : testing::compare_op_by_op(m->network(), {&sw}, cpu)) {
      if (k.window_attention && c.name == "window_attention") {
        // The fused kernel (attn/window.h) rounds differently from the reference's oneDNN path
        // (FMA, its own exp); bit-equality there is not a goal, agreement to float rounding is.
        EXPECT_LT(c.max_abs, 1e-5) << "SwinIR op " << c.op << " (fused window attention)";
        attention = true;
      } else {
        EXPECT_EQ(c.max_abs, 0.0) << "SwinIR op " << c.op << " (" << c.name << ")";
      }
    }
    EXPECT_TRUE(!k.window_attention || attention) << "the fused window attention went untested";
  }
}

// A binary op Linear records the next binary linear's input statistics as it writes its output
// (backend/batch.h: InputStats), and that reader then makes no pass of its own over the map: the
// image must be the same bits as with every reader making its pass (fuse off), on every kernel
// variant, and the recording must really happen (the harness above copies tensors between ops,
// which drops recorded stats, so only a whole run exercises them).
TEST(Backends, RecordedInputStatsGiveTheImageOfTheReadersOwnPasses) {
  const auto m = swinir();
  const Image img = testing::random_image(20, 16, 8);
  const net::Program& prog = m->network().program();
  for (const auto& k : kernels::kernel_variants()) {
    if (!k.supported) continue;
    SCOPED_TRACE(std::string(k.name));
    runtime::ThreadPool pool(2);
    runtime::Workspace ws(size_t{64} << 20);
    std::vector<float> rgb[2];
    int recorded = 0;
    for (bool fuse : {false, true}) {
      backend::CpuBackend cpu(pool, k, ws, fuse);
      backend::Batch b;
      b.in = {&img};
      b.plans.assign(1, net::StatsPlan{});
      b.host_memory = &ws;
      b.tensors.resize(prog.tensors);
      b.out.assign(1, Image{});
      cpu.begin(b);
      for (size_t i = 0; i < prog.ops.size();) {
        const size_t next = cpu.run(m->network(), i, b);
        const int y = prog.ops[i].y;
        if (fuse && prog.ops[i].as<net::op::Linear>() && y >= 0 && !b.tensors[y].input_stats.empty()) ++recorded;
        i = next;
      }
      cpu.end(b);
      rgb[fuse] = b.out[0].rgb;
    }
    ASSERT_FALSE(rgb[0].empty());
    EXPECT_GT(recorded, 0) << "no op recorded its reader's statistics: the path went untested";
    ASSERT_EQ(rgb[0].size(), rgb[1].size());
    EXPECT_EQ(0, std::memcmp(rgb[0].data(), rgb[1].data(), rgb[0].size() * sizeof(float)));
  }
}

TEST(Backends, TheTailFusedIntoTheUpsamplerMatchesOpByOp) {
  // Wide and short, so the upsampler runs in several bands (about 2^19 floats of conv output
  // each) and the tail's halo rows cross band boundaries; the height leaves a partial last band.
  const Image a = testing::random_image(300, 37, 11);
  runtime::ThreadPool pool(2);
  runtime::Workspace ws(size_t{64} << 20);
  backend::CpuBackend cpu(pool, kernels::select_kernel(""), ws);
  for (int scale : {2, 4}) {
    model::SyntheticSpec s;
    s.scale = scale;
    s.blocks = 1;
    s.channels = 16;
    s.components = {"shift", "spatial", "channel"};
    s.seed = 40 + scale;
    const Model m(net::make_edsr(model::synthetic_edsr(s)));
    bool tail_fused = false;
    for (const auto& c : testing::compare_op_by_op(m.network(), {&a}, cpu)) {
      EXPECT_EQ(c.max_abs, 0.0) << "x" << scale << " op " << c.op << " (" << c.name << ")";
      tail_fused = tail_fused || (c.ops == 2 && c.name == "conv");
    }
    EXPECT_TRUE(tail_fused) << "x" << scale << ": the upsampler and the tail ran apart";
  }
}

// A stand-in device: its "device memory" is a second host copy, and it runs only the ops it is
// given (on the CPU backend, from and to that copy), so the executor must move tensors both ways.
struct HostCopy : backend::DeviceTensor {
  std::vector<std::vector<float>> items;
};

class PartialDevice final : public backend::Backend {
 public:
  PartialDevice(backend::Backend& cpu, std::set<size_t> kinds) : cpu_(cpu), kinds_(std::move(kinds)) {}
  std::string name() const override { return "partial"; }
  bool supports(const net::Op& op) const override { return kinds_.count(op.params.index()) > 0; }
  void to_device(backend::Batch& b, int t) override {
    ++uploads;
    store(b, b.tensors[t]);
  }
  void to_host(backend::Batch& b, int t) override {
    ++downloads;
    load(b, b.tensors[t]);
  }
  size_t run(const net::Network& net, size_t i, backend::Batch& b) override {
    const net::Program& prog = net.program();
    for (int t : prog.ops[i].inputs()) load(b, b.tensors[t]);
    const size_t next = cpu_.run(net, i, b);
    for (size_t k = i; k < next; ++k)
      if (prog.ops[k].y >= 0) store(b, b.tensors[prog.ops[k].y]);
    ran += next - i;
    return next;
  }
  size_t uploads = 0, downloads = 0, ran = 0;

 private:
  static void store(backend::Batch& b, backend::Tensor& t) {
    auto d = std::make_unique<HostCopy>();
    for (int i = 0; i < b.size(); ++i) d->items.emplace_back(t.item(i), t.item(i) + t.item_floats());
    t.device = std::move(d);
    t.on_device = true;
  }
  static void load(backend::Batch& b, backend::Tensor& t) {
    const auto& d = static_cast<const HostCopy&>(*t.device);
    t.host.clear();
    for (int i = 0; i < b.size(); ++i) {
      t.host.push_back(b.host_memory->acquire(t.item_floats()));
      std::copy(d.items[i].begin(), d.items[i].end(), t.item(i));
    }
    t.on_host = true;
  }
  backend::Backend& cpu_;
  std::set<size_t> kinds_;
};

template <class T>
size_t kind() {
  return net::OpParams(T{}).index();
}

TEST(Backends, OpsADeviceLacksRunOnTheCpuWithTheSameResult) {
  const Image a = testing::random_image(21, 11, 8), b = testing::random_image(21, 11, 9);
  const Image sw = testing::random_image(20, 16, 5);
  runtime::ThreadPool pool(2);
  runtime::Workspace ws(size_t{16} << 20);
  backend::CpuBackend cpu(pool, kernels::select_kernel(""), ws);
  auto run = [&](const net::Network& n, std::vector<const Image*> in, backend::Backend* device) {
    backend::Batch batch;
    batch.in = std::move(in);
    batch.plans.resize(batch.in.size());
    batch.host_memory = &ws;
    return backend::execute(n, batch, cpu, {device, nullptr});
  };
  // EDSR: the body and the convs on the "device", input, upsampler and output on the CPU.
  const auto m = edsr(32);
  PartialDevice dev(
      cpu, {kind<net::op::Conv>(), kind<net::op::BinaryResidual>(), kind<net::op::Add>(), kind<net::op::Copy>()});
  const auto want = run(m->network(), {&a, &b}, nullptr), got = run(m->network(), {&a, &b}, &dev);
  ASSERT_EQ(got.size(), 2u);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(got[i].rgb, want[i].rgb) << "item " << i;
  EXPECT_GT(dev.ran, 0u);
  EXPECT_GT(dev.uploads, 0u);
  EXPECT_GT(dev.downloads, 0u);
  // SwinIR: only the linears on the "device" (qkv runs inside the CPU's attention op). Per layer,
  // proj reads the attention output the CPU made (an upload); fc1 and fc2 read what the device's
  // linears wrote (proj and fc2 add into the residual stream there), and the stream's host copy
  // (for the attention) is a download. Each group's first proj also uploads the stream after the
  // CPU's group conv and add (each group starts with a Copy).
  const auto s = swinir();
  PartialDevice lin(cpu, {kind<net::op::Linear>()});
  EXPECT_EQ(run(s->network(), {&sw}, &lin)[0].rgb, run(s->network(), {&sw}, nullptr)[0].rgb);
  const auto& ops = s->network().program().ops;
  const auto groups = std::count_if(ops.begin(), ops.end(), [](const net::Op& o) { return o.as<net::op::Copy>(); });
  EXPECT_GT(lin.ran, 0u);
  EXPECT_GT(groups, 0);
  EXPECT_EQ(lin.uploads, lin.ran / 3 + static_cast<size_t>(groups));
}

TEST(Backends, AnOpThatReadsAnUnwrittenTensorIsRefused) {
  // A program whose second op reads a tensor nothing wrote: a clear error, not a crash.
  struct Broken final : net::Network {
    net::Program p;
    ModelInfo i;
    Broken() {
      const int a = p.tensor(), b = p.tensor(), c = p.tensor();
      p.add(net::op::Input{}, -1, a);
      p.add(net::op::Add{}, b, c);
    }
    const ModelInfo& info() const override { return i; }
    const net::Program& program() const override { return p; }
    int context() const override { return 0; }
    size_t bytes_per_pixel() const override { return 4; }
    bool uses_image_stats() const override { return false; }
  } broken;
  runtime::ThreadPool pool(1);
  runtime::Workspace ws(1 << 20);
  backend::CpuBackend cpu(pool, kernels::select_kernel(""), ws);
  const Image in = testing::random_image(4, 4, 1);
  backend::Batch b;
  b.in = {&in};
  b.plans.resize(1);
  b.host_memory = &ws;
  try {
    backend::execute(broken, b, cpu);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("op 1 (add) reads a tensor no op has written"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scales
