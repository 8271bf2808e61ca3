#include "scheduler/scheduler.h"

#include <algorithm>

namespace scales::server {

namespace {
double seconds_since(SchedClock::time_point t) { return std::chrono::duration<double>(SchedClock::now() - t).count(); }

std::string key_string(const std::string& model, const BatchKey& k) {
  return model + "#" + std::to_string(k.network) +
         (k.device ? "@" + std::to_string(k.width) + "x" + std::to_string(k.height) : std::string());
}
}  // namespace

struct Scheduler::Live {
  uint64_t id = 0;
  Request req;
  std::unique_ptr<TileJob> job;
  SchedClock::time_point accepted;
  std::atomic<SchedClock::rep> started{-1};  // first tile's start, in clock ticks
  std::atomic<bool> finished{false};
  std::atomic<double> inference_s{0.0};
  int released = 0;      // tasks handed to enqueue so far (guarded by mu_)
  double in_pixels = 0;  // the input image's width x height
};

Scheduler::Scheduler(const Options& o) : opt_(o) {
  for (int i = 0; i < std::max(1, o.workers); ++i) {
    EngineOptions eo{o.threads_per_worker, "", o.tile};
    eo.backend = o.backend;
    eo.fp_precision = o.fp_precision;
    eo.device = o.device;
    eo.tile_memory_mb = o.tile_memory_mb;
    engines_.push_back(std::make_unique<Engine>(eo));  // throws Error: no such backend or device
    workers_.spawn([this, e = engines_.back().get()] { loop(*e); });
  }
}

Scheduler::~Scheduler() { stop(); }

std::string Scheduler::kernel() const { return engines_.front()->kernel(); }
std::string Scheduler::backend() const { return engines_.front()->backend(); }

DeviceStats Scheduler::device_stats() const {
  DeviceStats sum;
  for (const auto& e : engines_) {
    const DeviceStats s = e->device_stats();
    sum.device = s.device;
    sum.memory_in_use += s.memory_in_use;
    sum.memory_reserved += s.memory_reserved;
    sum.kernel_seconds += s.kernel_seconds;
    sum.batches += s.batches;
    sum.tiles += s.tiles;
  }
  return sum;
}

bool Scheduler::submit(Request r) {
  auto live = std::make_shared<Live>();
  live->in_pixels = static_cast<double>(r.image.width) * r.image.height;
  const int tile = engines_.front()->tile_size(*r.model, r.image.width, r.image.height);
  live->job = std::make_unique<TileJob>(r.model, std::move(r.image), tile);  // throws Error for a bad image
  if (r.tiles) live->job->stream_tiles(std::move(r.tiles));
  live->req = std::move(r);
  live->accepted = SchedClock::now();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ || live_.size() >= opt_.max_requests) return false;
    live->id = next_id_++;
    const auto ready = live->job->take_ready();
    live->released += static_cast<int>(ready.size());
    enqueue(*live, ready, arrival_rank(waiting_, live->accepted), live->accepted);
    live_[live->id] = live;
  }
  cv_.notify_all();
  return true;
}

void Scheduler::enqueue(const Live& r, const std::vector<int>& ready, SchedClock::time_point rank,
                        SchedClock::time_point since) {
  // One group per batch key, in the order the keys first appear; the engine's key and limit
  // (the same on every worker's engine) make each batch the batcher forms one engine batch.
  const Engine& e = *engines_.front();
  const size_t first = waiting_.size();
  // Work is counted in output pixels (window area x scale^2): what a tile costs, up to the
  // model's per-pixel cost, which the policy does not need to be exact about.
  const double scale = r.req.model->info().scale;
  auto cost = [&](int t) {
    const auto [w, h] = r.job->window_size(t);
    return static_cast<double>(w) * h * scale * scale;
  };
  // Tasks not ready yet (a two-pass image's second pass) count as work left, at this pass's cost.
  const int not_ready = r.job->tasks_total() - r.released;
  const double later = ready.empty() ? 0.0 : not_ready * cost(ready.front());
  for (int t : ready) {
    const std::string key = key_string(r.req.model_name, e.batch_key(*r.job, t));
    auto it =
        std::find_if(waiting_.begin() + first, waiting_.end(), [&](const WaitingRequest& w) { return w.key == key; });
    if (it == waiting_.end()) {
      WaitingRequest g;
      g.request = r.id;
      g.key = key;
      g.last_served = rank;
      g.limit = e.batch_limit(*r.job, t);
      g.arrived = r.accepted;
      g.tile_cost = cost(t);
      g.later = later;
      g.in_pixels = r.in_pixels;
      waiting_.push_back(std::move(g));
      it = waiting_.end() - 1;
    }
    it->tiles.push_back({r.id, t, since});
  }
}

size_t Scheduler::in_flight() const {
  std::lock_guard<std::mutex> lk(mu_);
  return live_.size();
}

size_t Scheduler::waiting_tiles() const {
  std::lock_guard<std::mutex> lk(mu_);
  size_t n = 0;
  for (const auto& w : waiting_) n += w.tiles.size();
  return n;
}

void Scheduler::finish(const std::shared_ptr<Live>& r, Result res, Image img, const std::string& error) {
  if (r->finished.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    live_.erase(r->id);
    std::erase_if(waiting_, [&](const WaitingRequest& w) { return w.request == r->id; });
  }
  cv_.notify_all();  // stop() may be waiting for the last request
  const SchedClock::rep started = r->started.load();
  const double queue_s =
      started < 0
          ? seconds_since(r->accepted)
          : std::chrono::duration<double>(SchedClock::time_point(SchedClock::duration(started)) - r->accepted).count();
  if (r->req.done) r->req.done(res, std::move(img), error, queue_s, r->inference_s.load(), r->job->tiles());
}

void Scheduler::loop(Engine& engine) {
  for (;;) {
    BatchDecision d;
    {
      std::unique_lock<std::mutex> lk(mu_);
      for (;;) {
        d = next_batch(waiting_, SchedClock::now(), opt_.policy);
        if (!d.batch.empty()) break;
        if (stopping_ && live_.empty()) return;
        if (d.wake_at == SchedClock::time_point::max())
          cv_.wait(lk);
        else
          cv_.wait_until(lk, d.wake_at);
      }
    }
    if (on_batch_) on_batch_(static_cast<int>(d.batch.size()));
    // The batch's live tasks, run together (one device batch per model and tile size).
    std::vector<std::shared_ptr<Live>> owners;
    std::vector<TileTask> tasks;
    for (const auto& t : d.batch) {
      std::shared_ptr<Live> r;
      {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = live_.find(t.request);
        if (it == live_.end()) continue;  // finished meanwhile (cancelled, failed)
        r = it->second;
      }
      if (r->finished) continue;
      if (r->req.deadline < std::chrono::system_clock::now()) {
        finish(r, Result::deadline_exceeded, {}, "deadline passed while queued");
        continue;
      }
      if (r->req.cancelled && r->req.cancelled()) {
        finish(r, Result::cancelled, {}, "cancelled while queued");
        continue;
      }
      const auto t0 = SchedClock::now();
      SchedClock::rep unset = -1;
      r->started.compare_exchange_strong(unset, t0.time_since_epoch().count());
      owners.push_back(r);
      tasks.push_back({r->job.get(), t.task});
    }
    if (tasks.empty()) continue;
    const auto outcomes = engine.run(tasks);
    if (on_batch_done_) on_batch_done_();
    for (size_t k = 0; k < tasks.size(); ++k) {
      const auto& r = owners[k];
      r->inference_s.fetch_add(outcomes[k].seconds);
      if (!outcomes[k].error.empty()) {
        finish(r, Result::failed, {}, outcomes[k].error);
        continue;
      }
      if (outcomes[k].completed) {
        finish(r, Result::ok, r->job->take_result(), "");
        continue;
      }
      const auto ready = r->job->take_ready();  // pass 2, once pass 1 is complete
      if (!ready.empty()) {
        std::lock_guard<std::mutex> lk(mu_);
        const auto now = SchedClock::now();
        r->released += static_cast<int>(ready.size());
        enqueue(*r, ready, now, now);
      }
      if (!ready.empty()) cv_.notify_all();
    }
  }
}

void Scheduler::stop() { workers_.stop(mu_, cv_, stopping_); }

}  // namespace scales::server
