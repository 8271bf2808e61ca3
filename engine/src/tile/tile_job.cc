// TileJob: one image's tiles as tasks. Task t < n runs tile t; with the statistics pass, tasks
// [0, n) are pass 1 (each tile's body, summing every layer's input over the tile's core) and
// [n, 2n) pass 2 (tile t - n with the image-wide sums), released when pass 1 is complete.
// The job plans, accumulates statistics and stitches (or streams rows, stream_rows); the tile
// driver (driver.cc) runs.
//
// Locking: State::mu guards handed_out, the pass counters, stats and the allocation of out.
// prepare() reads only what is fixed at construction (tiles, in) and, for pass 2, stats, which
// no one writes once pass 1 is complete (pass-2 tasks are released only then). Stitching copies
// a core into out (or into its tile row's band) without the lock: cores are disjoint and the
// buffer exists before any copy. emit_mu orders the row sink's calls.
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
  RowSink sink;       // set: rows are streamed, out is never allocated
  int row_tiles = 1;  // tiles per tile row (the plan is a row-major grid)

  // One tile row's output while its tiles finish (streaming only).
  struct Band {
    Image rows;
    int left = 0;  // tiles not yet copied in
  };

  mutable std::mutex mu;  // guards the fields below
  std::vector<bool> handed_out;
  int pass1_done = 0, pass2_done = 0;
  net::ImageStats stats;
  Image out;
  std::vector<Band> bands;
  int next_band = 0;  // the first band not yet given to the sink

  std::mutex emit_mu;  // held while the sink runs: bands leave in order, one at a time

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
    row_tiles = static_cast<int>(
        std::count_if(tiles.begin(), tiles.end(), [&](const tile::Tile& t) { return t.core.y0 == tiles[0].core.y0; }));
  }
  // Gives the sink every complete band from next_band on, in order.
  void emit() {
    std::lock_guard<std::mutex> order(emit_mu);
    for (;;) {
      Image rows;
      int y0 = 0;
      {
        std::lock_guard<std::mutex> lk(mu);
        if (next_band >= static_cast<int>(bands.size()) || bands[next_band].left > 0) return;
        rows = std::move(bands[next_band].rows);
        y0 = tiles[static_cast<size_t>(next_band) * row_tiles].core.y0 * model->info().scale;
        ++next_band;
      }
      sink(y0, std::move(rows));
    }
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

void TileJob::stream_rows(RowSink sink) {
  std::lock_guard<std::mutex> lk(s_->mu);
  s_->sink = std::move(sink);
  s_->bands.assign(s_->tiles.size() / s_->row_tiles, {});
  for (auto& b : s_->bands) b.left = s_->row_tiles;
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
    bool last = false;
    {
      std::lock_guard<std::mutex> lk(s.mu);
      last = ++s.pass2_done == 1;
      if (!s.sink) {
        s.out = std::move(p.up);
        return last;
      }
      s.bands[0].rows = std::move(p.up);
      s.bands[0].left = 0;
    }
    s.emit();
    return last;
  }
  const tile::Tile& t = *p.tile;
  const Image& up = p.up;
  // The buffer the core goes to: the whole output, or its tile row's band (rows y_base.. of it).
  const int band = p.task % n / s.row_tiles;
  Image* dst_image = nullptr;
  int y_base = 0;
  {
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.sink) {
      Image& rows = s.bands[band].rows;
      if (rows.rgb.empty()) {
        rows.width = s.width * sc;
        rows.height = t.core.height() * sc;
        rows.rgb.resize(static_cast<size_t>(rows.width) * rows.height * 3);
      }
      dst_image = &rows;
      y_base = t.core.y0 * sc;
    } else {
      if (s.out.rgb.empty()) {
        s.out.width = s.width * sc;
        s.out.height = s.height * sc;
        s.out.rgb.resize(static_cast<size_t>(s.out.width) * s.out.height * 3);
      }
      dst_image = &s.out;
    }
  }
  // Cores are disjoint: copying without the lock is safe once the buffer exists.
  const int ox = (t.core.x0 - t.window.x0) * sc, oy = (t.core.y0 - t.window.y0) * sc;
  const size_t row_floats = static_cast<size_t>(t.core.width()) * sc * 3;
  for (int y = 0; y < t.core.height() * sc; ++y) {
    const float* src = up.rgb.data() + (static_cast<size_t>(oy + y) * up.width + ox) * 3;
    float* dst = dst_image->rgb.data() +
                 (static_cast<size_t>(t.core.y0 * sc + y - y_base) * dst_image->width + t.core.x0 * sc) * 3;
    std::copy(src, src + row_floats, dst);
  }
  bool last = false, band_done = false;
  {
    std::lock_guard<std::mutex> lk(s.mu);
    last = ++s.pass2_done == n;
    if (s.sink) band_done = --s.bands[band].left == 0;
  }
  if (band_done) s.emit();
  return last;
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
