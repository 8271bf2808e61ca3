// The tile driver: Engine::run, the one loop that runs tile tasks (Engine::upscale, the server's
// scheduler and the fuzzers all call it), and Engine::run_to_end for one image on its own.
//
//   for each task, in order:
//     CPU:    prepare -> the network's ops on the CPU backend -> finish           (one window in memory)
//     device: the run of consecutive tasks with its batch key, at most batch_limit of them:
//             prepare all -> the network's ops on the device backend, the ones it lacks on the
//             CPU (backend/executor.h) -> finish each
#include <algorithm>
#include <chrono>
#include <exception>

#include "engine_impl.h"
#include "tile/tile_work.h"

namespace scales {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

BatchKey Engine::batch_key(const TileJob& job, int task) const {
  const net::Network& n = job.model().network();
  if (!impl_->device) return {n.instance_id(), 0, 0, false};
  const auto [w, h] = job.window_size(task);
  return {n.instance_id(), w, h, true};
}

size_t Engine::batch_limit(const TileJob& job, int task) const {
  const net::Network& n = job.model().network();
  if (!impl_->device) return 0;
  const auto [w, h] = job.window_size(task);
  const size_t per_tile = std::max<size_t>(1, static_cast<size_t>(w) * h * n.bytes_per_pixel());
  return std::max<size_t>(1, (impl_->opt.device_batch_memory_mb << 20) / per_tile);
}

std::vector<TileOutcome> Engine::run(std::span<const TileTask> tasks) {
  std::vector<TileOutcome> out(tasks.size());
  // A task's failure is its own: recorded in its outcome, the loop goes on.
  auto guarded = [&](size_t k, auto&& body) {
    try {
      body();
    } catch (const std::exception& ex) {
      out[k].error = ex.what();
    }
  };
  size_t k = 0;
  while (k < tasks.size()) {
    const TileTask& t = tasks[k];
    BatchKey key;
    guarded(k, [&] { key = batch_key(*t.job, t.task); });
    if (!out[k].error.empty()) {
      ++k;
      continue;
    }
    if (!key.device) {
      guarded(k, [&] {
        TileJob::Work w;
        t.job->prepare(t.task, w);
        const auto t0 = std::chrono::steady_clock::now();
        w.up = std::move(impl_->run_batch(t.job->model().network(), {w.input}, {w.plan}).at(0));
        out[k].seconds = seconds_since(t0);
        out[k].completed = t.job->finish(w);
      });
      ++k;
      continue;
    }
    // The device batch: this task and the ones after it with its key, up to the limit.
    const size_t limit = batch_limit(*t.job, t.task);
    size_t end = k + 1;
    while (end < tasks.size() && end - k < limit) {
      BatchKey next;
      try {
        next = batch_key(*tasks[end].job, tasks[end].task);
      } catch (const std::exception&) {
        break;  // the next round reports it
      }
      if (!(next == key)) break;
      ++end;
    }
    std::vector<TileJob::Work> work(end - k);
    std::vector<size_t> live;  // indices into work of the prepared tasks
    for (size_t i = 0; i < work.size(); ++i) {
      guarded(k + i, [&] { tasks[k + i].job->prepare(tasks[k + i].task, work[i]); });
      if (out[k + i].error.empty()) live.push_back(i);
    }
    std::vector<const Image*> in;
    std::vector<net::StatsPlan> plans;
    for (size_t i : live) {
      in.push_back(work[i].input);
      plans.push_back(work[i].plan);
    }
    try {
      const auto t0 = std::chrono::steady_clock::now();
      auto up = in.empty() ? std::vector<Image>{} : impl_->run_batch(t.job->model().network(), in, plans);
      const double share = live.empty() ? 0.0 : seconds_since(t0) / static_cast<double>(live.size());
      for (size_t j = 0; j < live.size(); ++j) {
        work[live[j]].up = std::move(up[j]);
        out[k + live[j]].seconds = share;
      }
      for (size_t i : live) guarded(k + i, [&] { out[k + i].completed = tasks[k + i].job->finish(work[i]); });
    } catch (const std::exception& ex) {
      for (size_t i : live) out[k + i].error = ex.what();
    }
    k = end;
  }
  return out;
}

void Engine::run_to_end(TileJob& job) {
  for (auto ready = job.take_ready(); !ready.empty(); ready = job.take_ready()) {  // pass 2 after pass 1
    // On a device, tasks of one key next to each other, so each batch is as full as the limit
    // allows; the CPU runs them one at a time in plan order.
    if (batch_key(job, ready.front()).device)
      std::stable_sort(ready.begin(), ready.end(), [&](int a, int b) {
        const auto wa = job.window_size(a), wb = job.window_size(b);
        return wa < wb;
      });
    std::vector<TileTask> tasks;
    for (int t : ready) tasks.push_back({&job, t});
    for (const TileOutcome& o : run(tasks))
      if (!o.error.empty()) throw Error(o.error);
  }
}

}  // namespace scales
