// Public API glue: model loading, the Engine (thread pool, kernel choice, device backend).
// Tiles are planned and stitched by TileJob (tile/tile_job.cc) and run by the tile driver
// (tile/driver.cc).
#include "scales/engine.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

#include "engine_impl.h"
#include "kernels/variant.h"
#include "model/model_file.h"
#include "model/swinir_file.h"
#include "net/edsr.h"
#include "net/network.h"
#include "net/swinir.h"
#include "runtime/thread_pool.h"
#include "runtime/workspace.h"
#include "tile/tiler.h"

namespace scales {

Model::Model(std::unique_ptr<net::Network> net) : net_(std::move(net)) {}
Model::~Model() = default;
const ModelInfo& Model::info() const { return net_->info(); }
int Model::tile_context() const { return net_->context(); }

std::shared_ptr<const Model> Model::load_from_memory(const std::vector<uint8_t>& bytes, const std::string& name) {
  // The architecture picks the reader; each reader validates everything else.
  if (model::model_architecture(bytes, name) == "scales-swinir")
    return std::make_shared<Model>(net::make_swinir(model::read_swinir_file(bytes, name)));
  return std::make_shared<Model>(net::make_edsr(model::read_model_file(bytes, name)));
}

std::shared_ptr<const Model> Model::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open model file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return load_from_memory(bytes, path);
}

namespace {
const kernels::KernelVariant& pick_kernel(const EngineOptions& o) {
  if (!o.kernel.empty()) return kernels::select_kernel(o.kernel);
  const char* env = std::getenv("SCALES_KERNEL");
  return kernels::select_kernel(env ? env : "");
}
}  // namespace

Engine::Engine(const EngineOptions& options) {
  if (options.tile < 0) throw Error("tile size must be >= 0 (0 = automatic), got " + std::to_string(options.tile));
  if (options.tile_memory_mb == 0) throw Error("tile_memory_mb must be > 0");
  if (options.backend != "cpu" && options.backend != "cuda" && options.backend != "auto")
    throw Error("backend must be cpu, cuda or auto, got '" + options.backend + "'");
  if (options.fp_precision != "model" && options.fp_precision != "fp32")
    throw Error("fp_precision must be model or fp32, got '" + options.fp_precision + "'");
  impl_ = std::make_unique<Impl>(options, pick_kernel(options));
  impl_->cpu.allow_low_precision(options.fp_precision == "model");
  if (options.backend == "cuda") {
    impl_->device = backend::make_cuda_backend(options.device);  // throws, saying why not
  } else if (options.backend == "auto" && backend::cuda_built()) {
    try {
      impl_->device = backend::make_cuda_backend(options.device);
    } catch (const Error&) {
      // no usable device: the CPU path
    }
  }
}
Engine::~Engine() = default;

std::string Engine::kernel() const { return std::string(impl_->kernel->name); }
int Engine::threads() const { return impl_->pool.size(); }
std::string Engine::backend() const { return impl_->device ? impl_->device->name() : "cpu"; }
DeviceStats Engine::device_stats() const { return impl_->device ? impl_->device->stats() : DeviceStats{}; }

int Engine::tile_size(const Model& m, int width, int height) const {
  if (impl_->opt.tile > 0) return impl_->opt.tile;
  return tile::auto_tile_size(width, height, m.tile_context(), m.network().bytes_per_pixel(),
                              impl_->opt.tile_memory_mb << 20);
}

Image Engine::upscale(const Model& m, const Image& in) {
  // The model outlives this call: a non-owning pointer is enough for the job.
  const std::shared_ptr<const Model> model(&m, [](const Model*) {});
  if (in.width <= 0 || in.height <= 0)
    throw Error("image has no pixels (" + std::to_string(in.width) + "x" + std::to_string(in.height) + ")");
  TileJob job(model, in, tile_size(m, in.width, in.height));
  run_to_end(job);
  return job.take_result();
}

Image upscale(const Model& model, const Image& input) {
  static Engine engine;
  return engine.upscale(model, input);
}

}  // namespace scales
