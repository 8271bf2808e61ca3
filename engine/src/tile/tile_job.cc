// TileJob: one image's tiles as tasks. Task t < n runs tile t; with the statistics pass, tasks
// [0, n) are pass 1 (each tile's body, summing every layer's input over the tile's core) and
// [n, 2n) pass 2 (tile t - n with the image-wide sums), released when pass 1 is complete.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>

#include "engine_impl.h"
#include "net/network.h"
#include "tile/tiler.h"

namespace scales {

struct TileJob::State {
  std::shared_ptr<const Model> model;
  Image in;
  std::vector<tile::Tile> tiles;
  bool two_pass = false;

  mutable std::mutex mu;  // guards the fields below
  std::vector<bool> handed_out;
  int pass1_done = 0, pass2_done = 0;
  net::ImageStats stats;
  Image out;

  Image window(const tile::Tile& t) const {
    Image win;
    win.width = t.window.width();
    win.height = t.window.height();
    win.rgb.resize(static_cast<size_t>(win.width) * win.height * 3);
    for (int y = 0; y < win.height; ++y) {
      const float* src = in.rgb.data() + (static_cast<size_t>(t.window.y0 + y) * in.width + t.window.x0) * 3;
      std::copy(src, src + static_cast<size_t>(win.width) * 3, win.rgb.data() + static_cast<size_t>(y) * win.width * 3);
    }
    return win;
  }
  static tile::Rect core_in_window(const tile::Tile& t) {
    return {t.core.x0 - t.window.x0, t.core.y0 - t.window.y0, t.core.x1 - t.window.x0, t.core.y1 - t.window.y0};
  }
};

TileJob::TileJob(std::shared_ptr<const Model> model, Image input, int tile) : s_(std::make_unique<State>()) {
  if (!model) throw Error("tile job without a model");
  if (input.width <= 0 || input.height <= 0)
    throw Error("image has no pixels (" + std::to_string(input.width) + "x" + std::to_string(input.height) + ")");
  if (input.rgb.size() != static_cast<size_t>(input.width) * input.height * 3)
    throw Error("image buffer holds " + std::to_string(input.rgb.size()) + " floats, expected width*height*3 = " +
                std::to_string(static_cast<size_t>(input.width) * input.height * 3));
  if (tile <= 0) throw Error("tile size must be > 0, got " + std::to_string(tile));
  s_->tiles = tile::plan_tiles(input.width, input.height, tile, model->tile_context(), model->network().tile_alignment());
  s_->two_pass = s_->tiles.size() > 1 && model->network().uses_image_stats();
  s_->handed_out.assign((s_->two_pass ? 2 : 1) * s_->tiles.size(), false);
  s_->model = std::move(model);
  s_->in = std::move(input);
}

TileJob::~TileJob() = default;

const Model& TileJob::model() const { return *s_->model; }
int TileJob::tiles() const { return static_cast<int>(s_->tiles.size()); }
int TileJob::tasks_total() const { return static_cast<int>(s_->handed_out.size()); }

std::vector<int> TileJob::take_ready() {
  std::lock_guard<std::mutex> lk(s_->mu);
  const int n = tiles();
  const int first = s_->two_pass && s_->pass1_done < n ? 0 : (s_->two_pass ? n : 0);
  const int last = s_->two_pass && s_->pass1_done < n ? n : tasks_total();
  std::vector<int> ready;
  for (int t = first; t < last; ++t)
    if (!s_->handed_out[t]) {
      s_->handed_out[t] = true;
      ready.push_back(t);
    }
  return ready;
}

// A task on its way through run_batch: what it runs on, and where its result goes.
struct TileJob::Prepared {
  TileJob* job = nullptr;
  int task = 0;
  enum class Kind { pass1, whole, pass2 } kind = Kind::whole;
  const tile::Tile* tile = nullptr;
  Image window;           // the tile's input, copied out of the image (not for Kind::whole)
  const Image* input = nullptr;  // what the network reads: &window, or the job's image
  net::StatsPlan plan;
  net::ImageStats mine;   // pass 1: this tile's sums
  Image up;               // the network's output
  std::string error;
  double seconds = 0;
};

bool TileJob::run(int task, Engine& engine) {
  const auto out = run_batch({{this, task}}, engine);
  if (!out[0].error.empty()) throw Error(out[0].error);
  return out[0].completed;
}

void TileJob::prepare(Prepared& p) const {
  const State& s = *s_;
  const int n = tiles();
  if (p.task < 0 || p.task >= tasks_total()) throw Error("tile task " + std::to_string(p.task) + " out of range");
  p.tile = &s.tiles[p.task % n];
  if (s.two_pass && p.task < n) {
    p.kind = Prepared::Kind::pass1;
    p.plan.collect = &p.mine;
    p.plan.core = State::core_in_window(*p.tile);
    p.window = s.window(*p.tile);
  } else if (n == 1) {  // the whole image: its own statistics, exact
    p.kind = Prepared::Kind::whole;
    p.input = &s.in;
    return;
  } else {
    p.kind = Prepared::Kind::pass2;
    if (s.two_pass) p.plan.use = &s.stats;  // complete: pass-2 tasks are released only after pass 1
    p.window = s.window(*p.tile);
  }
  p.input = &p.window;
}

bool TileJob::finish(Prepared& p) {
  State& s = *s_;
  const int n = tiles();
  if (p.kind == Prepared::Kind::pass1) {
    std::lock_guard<std::mutex> lk(s.mu);
    auto& acc = s.stats.layer_sums;
    if (acc.size() < p.mine.layer_sums.size()) acc.resize(p.mine.layer_sums.size());
    for (size_t l = 0; l < p.mine.layer_sums.size(); ++l) {
      if (acc[l].empty()) acc[l].assign(p.mine.layer_sums[l].size(), 0.0);
      for (size_t c = 0; c < p.mine.layer_sums[l].size(); ++c) acc[l][c] += p.mine.layer_sums[l][c];
    }
    if (++s.pass1_done == n) s.stats.pixels = static_cast<double>(s.in.width) * s.in.height;
    return false;
  }
  if (p.kind == Prepared::Kind::whole) {
    std::lock_guard<std::mutex> lk(s.mu);
    s.out = std::move(p.up);
    return ++s.pass2_done == 1;
  }
  const tile::Tile& t = *p.tile;
  const Image& up = p.up;
  const int sc = s.model->info().scale;
  {
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.out.rgb.empty()) {
      s.out.width = s.in.width * sc;
      s.out.height = s.in.height * sc;
      s.out.rgb.resize(static_cast<size_t>(s.out.width) * s.out.height * 3);
    }
  }
  // Cores are disjoint: copying without the lock is safe once the buffer exists.
  const int ox = (t.core.x0 - t.window.x0) * sc, oy = (t.core.y0 - t.window.y0) * sc;
  const size_t row_floats = static_cast<size_t>(t.core.width()) * sc * 3;
  for (int y = 0; y < t.core.height() * sc; ++y) {
    const float* src = up.rgb.data() + (static_cast<size_t>(oy + y) * up.width + ox) * 3;
    float* dst = s.out.rgb.data() + (static_cast<size_t>(t.core.y0 * sc + y) * s.out.width + t.core.x0 * sc) * 3;
    std::copy(src, src + row_floats, dst);
  }
  std::lock_guard<std::mutex> lk(s.mu);
  return ++s.pass2_done == n;
}

std::vector<TileJob::Outcome> TileJob::run_batch(const std::vector<Task>& tasks, Engine& engine) {
  Engine::Impl& e = *engine.impl_;
  std::vector<Prepared> items(tasks.size());
  for (size_t k = 0; k < tasks.size(); ++k) {
    items[k].job = tasks[k].job;
    items[k].task = tasks[k].task;
    try {
      items[k].job->prepare(items[k]);
    } catch (const std::exception& ex) {
      items[k].error = ex.what();
    }
  }
  // Device batches: tasks of one network and window size, at most device_batch_memory_mb of
  // working memory each.
  std::vector<bool> grouped(items.size(), false);
  for (size_t k = 0; k < items.size(); ++k) {
    if (grouped[k] || !items[k].error.empty()) continue;
    const net::Network& netw = items[k].job->model().network();
    if (!e.on_device(netw)) continue;
    const Image& w0 = *items[k].input;
    const size_t per_tile = std::max<size_t>(1, static_cast<size_t>(w0.width) * w0.height * netw.bytes_per_pixel());
    const size_t max_n = std::max<size_t>(1, (e.opt.device_batch_memory_mb << 20) / per_tile);
    std::vector<size_t> group;
    for (size_t m = k; m < items.size() && group.size() < max_n; ++m) {
      const Prepared& q = items[m];
      if (grouped[m] || !q.error.empty() || &q.job->model().network() != &netw || q.input->width != w0.width ||
          q.input->height != w0.height)
        continue;
      grouped[m] = true;
      group.push_back(m);
    }
    std::vector<const Image*> in;
    std::vector<net::StatsPlan> plans;
    for (size_t m : group) {
      in.push_back(items[m].input);
      plans.push_back(items[m].plan);
    }
    try {
      const auto t0 = std::chrono::steady_clock::now();
      auto out = e.device->forward(netw, in, plans);
      const double share = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / group.size();
      for (size_t g = 0; g < group.size(); ++g) {
        items[group[g]].up = std::move(out[g]);
        items[group[g]].seconds = share;
      }
    } catch (const std::exception& ex) {
      for (size_t m : group) items[m].error = ex.what();
    }
  }
  std::vector<Outcome> outcomes(items.size());
  for (size_t k = 0; k < items.size(); ++k) {
    Prepared& p = items[k];
    try {
      if (p.error.empty() && !grouped[k]) {
        const auto t0 = std::chrono::steady_clock::now();
        p.up = e.cpu_forward(p.job->model().network(), *p.input, p.plan);
        p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      if (p.error.empty()) outcomes[k].completed = p.job->finish(p);
    } catch (const std::exception& ex) {
      p.error = ex.what();
    }
    outcomes[k].error = p.error;
    outcomes[k].seconds = p.seconds;
  }
  return outcomes;
}

bool TileJob::done() const {
  std::lock_guard<std::mutex> lk(s_->mu);
  return s_->pass2_done == tiles();
}

Image TileJob::take_result() {
  std::lock_guard<std::mutex> lk(s_->mu);
  if (s_->pass2_done != tiles()) throw Error("tile job is not finished");
  return std::move(s_->out);
}

}  // namespace scales
