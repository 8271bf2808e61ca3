// TileJob: one image's tiles as tasks. Task t < n runs tile t; with the statistics pass, tasks
// [0, n) are pass 1 (each tile's body, summing every layer's input over the tile's core) and
// [n, 2n) pass 2 (tile t - n with the image-wide sums), released when pass 1 is complete.
// The job plans, accumulates statistics and stitches (or hands each core to a sink,
// stream_tiles); the tile driver (driver.cc) runs.
//
// Locking: State::mu guards handed_out, the pass counters, stats and the allocation of out.
// prepare() reads only what is fixed at construction (tiles, in) and, for pass 2, stats, which
// no one writes once pass 1 is complete (pass-2 tasks are released only then). Stitching copies
// a core into out without the lock: cores are disjoint and out exists before any copy. The sink
// is called without the lock.
#include <algorithm>
#include <mutex>
#include <string>

#include "net/network.h"
#include "tile/tile_work.h"
#include "tile/tiler.h"

namespace scales {

struct TileJob::State {
  std::shared_ptr<const Model> model;
  Image in;             // the input as floats, or
  SampleImage samples;  // as 8- or 16-bit samples (compact)
  bool compact = false;
  int width = 0, height = 0;
  std::vector<tile::Tile> tiles;
  bool two_pass = false;
  TileSink sink;  // set (before any task runs): cores are streamed, out is never allocated

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
    if (compact) {
      samples_to_floats(samples, t.window.x0, t.window.y0, t.window.x1, t.window.y1, win.rgb.data());
      return win;
    }
    for (int y = 0; y < win.height; ++y) {
      const float* src = in.rgb.data() + (static_cast<size_t>(t.window.y0 + y) * in.width + t.window.x0) * 3;
      std::copy(src, src + static_cast<size_t>(win.width) * 3, win.rgb.data() + static_cast<size_t>(y) * win.width * 3);
    }
    return win;
  }
  void plan(int tile) {
    if (width <= 0 || height <= 0)
      throw Error("image has no pixels (" + std::to_string(width) + "x" + std::to_string(height) + ")");
    if (tile <= 0) throw Error("tile size must be > 0, got " + std::to_string(tile));
    tiles = tile::plan_tiles(width, height, tile, model->tile_context(), model->network().tile_alignment());
    two_pass = tiles.size() > 1 && model->network().uses_image_stats();
    handed_out.assign((two_pass ? 2 : 1) * tiles.size(), false);
  }
  static tile::Rect core_in_window(const tile::Tile& t) {
    return {t.core.x0 - t.window.x0, t.core.y0 - t.window.y0, t.core.x1 - t.window.x0, t.core.y1 - t.window.y0};
  }
};

TileJob::TileJob(std::shared_ptr<const Model> model, Image input, int tile) : s_(std::make_unique<State>()) {
  if (!model) throw Error("tile job without a model");
  if (input.rgb.size() != static_cast<size_t>(std::max(0, input.width)) * std::max(0, input.height) * 3)
    throw Error("image buffer holds " + std::to_string(input.rgb.size()) + " floats, expected width*height*3 = " +
                std::to_string(static_cast<size_t>(std::max(0, input.width)) * std::max(0, input.height) * 3));
  s_->model = std::move(model);
  s_->width = input.width;
  s_->height = input.height;
  s_->plan(tile);
  s_->in = std::move(input);
}

TileJob::TileJob(std::shared_ptr<const Model> model, SampleImage input, int tile) : s_(std::make_unique<State>()) {
  if (!model) throw Error("tile job without a model");
  if (input.bits != 8 && input.bits != 16)
    throw Error("samples must be 8 or 16 bits, got " + std::to_string(input.bits));
  const size_t want = static_cast<size_t>(std::max(0, input.width)) * std::max(0, input.height) * 3;
  if (input.samples() != want)
    throw Error("image buffer holds " + std::to_string(input.samples()) +
                " samples, expected width*height*3 = " + std::to_string(want));
  s_->model = std::move(model);
  s_->width = input.width;
  s_->height = input.height;
  s_->plan(tile);
  s_->compact = true;
  s_->samples = std::move(input);
}

void TileJob::stream_tiles(TileSink sink) {
  std::lock_guard<std::mutex> lk(s_->mu);
  s_->sink = std::move(sink);
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

std::pair<int, int> TileJob::window_size(int task) const {
  if (task < 0 || task >= tasks_total()) throw Error("tile task " + std::to_string(task) + " out of range");
  if (tiles() == 1) return {s_->width, s_->height};
  const tile::Tile& t = s_->tiles[task % tiles()];
  return {t.window.width(), t.window.height()};
}

void TileJob::prepare(int task, Work& p) const {
  const State& s = *s_;
  const int n = tiles();
  p.task = task;
  if (p.task < 0 || p.task >= tasks_total()) throw Error("tile task " + std::to_string(p.task) + " out of range");
  p.tile = &s.tiles[p.task % n];
  if (s.two_pass && p.task < n) {
    p.kind = Work::Kind::pass1;
    p.plan.collect = &p.mine;
    p.plan.core = State::core_in_window(*p.tile);
    p.window = s.window(*p.tile);
  } else if (n == 1) {  // the whole image: its own statistics, exact
    p.kind = Work::Kind::whole;
    if (!s.compact) {
      p.input = &s.in;
      return;
    }
    p.window = s.window(*p.tile);
  } else {
    p.kind = Work::Kind::pass2;
    if (s.two_pass) p.plan.use = &s.stats;  // complete: pass-2 tasks are released only after pass 1
    p.window = s.window(*p.tile);
  }
  p.input = &p.window;
}

bool TileJob::finish(Work& p) {
  State& s = *s_;
  const int n = tiles();
  if (p.kind == Work::Kind::pass1) {
    std::lock_guard<std::mutex> lk(s.mu);
    auto& acc = s.stats.layer_sums;
    if (acc.size() < p.mine.layer_sums.size()) acc.resize(p.mine.layer_sums.size());
    for (size_t l = 0; l < p.mine.layer_sums.size(); ++l) {
      if (acc[l].empty()) acc[l].assign(p.mine.layer_sums[l].size(), 0.0);
      for (size_t c = 0; c < p.mine.layer_sums[l].size(); ++c) acc[l][c] += p.mine.layer_sums[l][c];
    }
    if (++s.pass1_done == n) s.stats.pixels = static_cast<double>(s.width) * s.height;
    return false;
  }
  const int sc = s.model->info().scale;
  if (p.kind == Work::Kind::whole) {
    if (s.sink) {
      s.sink(0, 0, p.up);
      std::lock_guard<std::mutex> lk(s.mu);
      return ++s.pass2_done == 1;
    }
    std::lock_guard<std::mutex> lk(s.mu);
    s.out = std::move(p.up);
    return ++s.pass2_done == 1;
  }
  const tile::Tile& t = *p.tile;
  const Image& up = p.up;
  const int ox = (t.core.x0 - t.window.x0) * sc, oy = (t.core.y0 - t.window.y0) * sc;
  const size_t row_floats = static_cast<size_t>(t.core.width()) * sc * 3;
  if (s.sink) {
    Image core;
    core.width = t.core.width() * sc;
    core.height = t.core.height() * sc;
    core.rgb.resize(row_floats * core.height);
    for (int y = 0; y < core.height; ++y) {
      const float* src = up.rgb.data() + (static_cast<size_t>(oy + y) * up.width + ox) * 3;
      std::copy(src, src + row_floats, core.rgb.data() + y * row_floats);
    }
    s.sink(t.core.x0 * sc, t.core.y0 * sc, core);
  } else {
    {
      std::lock_guard<std::mutex> lk(s.mu);
      if (s.out.rgb.empty()) {
        s.out.width = s.width * sc;
        s.out.height = s.height * sc;
        s.out.rgb.resize(static_cast<size_t>(s.out.width) * s.out.height * 3);
      }
    }
    // Cores are disjoint: copying without the lock is safe once the buffer exists.
    for (int y = 0; y < t.core.height() * sc; ++y) {
      const float* src = up.rgb.data() + (static_cast<size_t>(oy + y) * up.width + ox) * 3;
      float* dst = s.out.rgb.data() + (static_cast<size_t>(t.core.y0 * sc + y) * s.out.width + t.core.x0 * sc) * 3;
      std::copy(src, src + row_floats, dst);
    }
  }
  std::lock_guard<std::mutex> lk(s.mu);
  return ++s.pass2_done == n;
}

bool TileJob::done() const {
  std::lock_guard<std::mutex> lk(s_->mu);
  return s_->pass2_done == tiles();
}

Image TileJob::take_result() {
  std::lock_guard<std::mutex> lk(s_->mu);
  if (s_->pass2_done != tiles()) throw Error("tile job is not finished");
  if (s_->sink) {  // streamed: the rows are gone, the size is the answer
    Image size_only;
    size_only.width = s_->width * s_->model->info().scale;
    size_only.height = s_->height * s_->model->info().scale;
    return size_only;
  }
  return std::move(s_->out);
}

}  // namespace scales
