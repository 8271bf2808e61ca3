// Public API glue: model loading, the Engine (thread pool + kernel choice), tiling and stitching.
#include "scales/engine.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

#include "bconv/dispatch.h"
#include "model/model_file.h"
#include "net/edsr.h"
#include "net/network.h"
#include "runtime/thread_pool.h"
#include "runtime/workspace.h"
#include "tile/tiler.h"

namespace scales {

Model::Model(std::unique_ptr<net::Network> net) : net_(std::move(net)) {}
Model::~Model() = default;
const ModelInfo& Model::info() const { return net_->info(); }
int Model::tile_context() const { return net_->context(); }

std::shared_ptr<const Model> Model::load_from_memory(const std::vector<uint8_t>& bytes, const std::string& name) {
  return std::make_shared<Model>(net::make_edsr(model::read_model_file(bytes, name)));
}

std::shared_ptr<const Model> Model::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open model file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return load_from_memory(bytes, path);
}

struct Engine::Impl {
  EngineOptions opt;
  const bconv::KernelVariant* kernel;
  runtime::ThreadPool pool;
  runtime::Workspace ws;  // keeps at most one tile budget of idle feature maps between calls
  std::mutex mu;          // one upscale at a time on this engine's pool

  explicit Impl(const EngineOptions& o)
      : opt(o), kernel(&pick(o)), pool(o.threads), ws(o.tile_memory_mb << 20) {}

  static const bconv::KernelVariant& pick(const EngineOptions& o) {
    if (!o.kernel.empty()) return bconv::select_kernel(o.kernel);
    const char* env = std::getenv("SCALES_KERNEL");
    return bconv::select_kernel(env ? env : "");
  }
};

Engine::Engine(const EngineOptions& options) {
  if (options.tile < 0) throw Error("tile size must be >= 0 (0 = automatic), got " + std::to_string(options.tile));
  if (options.tile_memory_mb == 0) throw Error("tile_memory_mb must be > 0");
  impl_ = std::make_unique<Impl>(options);
}
Engine::~Engine() = default;

std::string Engine::kernel() const { return std::string(impl_->kernel->name); }
int Engine::threads() const { return impl_->pool.size(); }

int Engine::tile_size(const Model& m, int width, int height) const {
  if (impl_->opt.tile > 0) return impl_->opt.tile;
  return tile::auto_tile_size(width, height, m.tile_context(), m.network().bytes_per_pixel(),
                              impl_->opt.tile_memory_mb << 20);
}

Image Engine::upscale(const Model& m, const Image& in) {
  if (in.width <= 0 || in.height <= 0)
    throw Error("image has no pixels (" + std::to_string(in.width) + "x" + std::to_string(in.height) + ")");
  if (in.rgb.size() != static_cast<size_t>(in.width) * in.height * 3)
    throw Error("image buffer holds " + std::to_string(in.rgb.size()) + " floats, expected width*height*3 = " +
                std::to_string(static_cast<size_t>(in.width) * in.height * 3));
  std::lock_guard<std::mutex> lk(impl_->mu);
  net::Runtime rt{impl_->pool, *impl_->kernel, impl_->ws};
  const auto& netw = m.network();
  const int s = m.info().scale;
  const auto tiles = tile::plan_tiles(in.width, in.height, tile_size(m, in.width, in.height), m.tile_context());
  if (tiles.size() == 1) return netw.forward(in, rt);  // the image's own statistics: exact


  auto window_of = [&](const tile::Tile& t) {
    Image win;
    win.width = t.window.width();
    win.height = t.window.height();
    win.rgb.resize(static_cast<size_t>(win.width) * win.height * 3);
    for (int y = 0; y < win.height; ++y) {
      const float* src = in.rgb.data() + (static_cast<size_t>(t.window.y0 + y) * in.width + t.window.x0) * 3;
      std::copy(src, src + static_cast<size_t>(win.width) * 3, win.rgb.data() + static_cast<size_t>(y) * win.width * 3);
    }
    return win;
  };
  auto core_in_window = [](const tile::Tile& t) {
    return tile::Rect{t.core.x0 - t.window.x0, t.core.y0 - t.window.y0, t.core.x1 - t.window.x0,
                      t.core.y1 - t.window.y0};
  };

  // Pass 1 (only for networks with image-wide statistics): every tile's body, to sum each
  // layer's input over the image. Pass 2 runs every tile with those sums.
  net::ImageStats image_stats;
  net::StatsPlan plan;
  if (netw.uses_image_stats()) {
    for (const auto& t : tiles) {
      net::StatsPlan collect;
      collect.collect = &image_stats;
      collect.core = core_in_window(t);
      netw.forward(window_of(t), rt, collect);
    }
    image_stats.pixels = static_cast<double>(in.width) * in.height;
    plan.use = &image_stats;
  }

  Image out;
  out.width = in.width * s;
  out.height = in.height * s;
  out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
  for (const auto& t : tiles) {
    const Image up = netw.forward(window_of(t), rt, plan);
    // Copy the core's output: rows [s*core.y0, s*core.y1) of the image, offset by the window.
    const int ox = (t.core.x0 - t.window.x0) * s, oy = (t.core.y0 - t.window.y0) * s;
    const size_t row_floats = static_cast<size_t>(t.core.width()) * s * 3;
    for (int y = 0; y < t.core.height() * s; ++y) {
      const float* src = up.rgb.data() + (static_cast<size_t>(oy + y) * up.width + ox) * 3;
      float* dst = out.rgb.data() + (static_cast<size_t>(t.core.y0 * s + y) * out.width + t.core.x0 * s) * 3;
      std::copy(src, src + row_floats, dst);
    }
  }
  return out;
}

Image upscale(const Model& model, const Image& input) {
  static Engine engine;
  return engine.upscale(model, input);
}

}  // namespace scales
