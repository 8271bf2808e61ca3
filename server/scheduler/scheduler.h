// The tile scheduler: every image becomes a TileJob; tiles from all in-flight requests wait in
// one list and engine workers take them in batches formed by next_batch() (batcher.h). A request
// that is cancelled or past its deadline has its waiting tiles dropped. No gRPC or protobuf types
// in here: requests come in and results go out through plain callbacks.
//
// Threads and locks:
//   - submit() runs on the caller's thread (the server's I/O pool); each engine worker runs
//     loop() on its own thread (the ThreadGroup "scales-engine", thread_group.h) with its own
//     Engine, so engines are never shared.
//   - mu_ guards waiting_, live_, next_id_ and stopping_, and nothing else. It is held to form a
//     batch (next_batch) and to add or drop tiles, never while a tile runs or a callback is called.
//   - A Live request is shared (shared_ptr) by live_ and the workers running its tiles; its
//     TileJob is safe to use from several workers at once (it locks its own state); `finished`
//     makes finish() run once per request, whichever worker gets there first; `started` and
//     `inference_s` are atomics written by any worker.
//   - Request::done, on_batch and on_batch_done are called on a worker thread without mu_ held.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scales/engine.h"
#include "scheduler/batcher.h"
#include "thread_group.h"

namespace scales::server {

class Scheduler {
 public:
  struct Options {
    int workers = 1;                     // engine workers (each owns an Engine)
    int threads_per_worker = 1;          // engine threads each
    int tile = 0;                        // LR tile side; 0: the engine's automatic size
    size_t tile_memory_mb = 256;         // automatic tiles keep each engine's working memory under this
    std::string backend = "cpu";         // EngineOptions::backend: cpu, cuda or auto
    int device = 0;                      // CUDA device (every worker's engine uses it)
    std::string fp_precision = "model";  // EngineOptions::fp_precision
    BatchPolicy policy;
    size_t max_requests = 64;  // images accepted and not finished
  };
  enum class Result { ok, cancelled, deadline_exceeded, failed };
  struct Request {
    std::shared_ptr<const Model> model;
    std::string model_name;
    SampleImage image;                // the input, as decoded (TileJob converts each window)
    TileJob::TileSink tiles;          // each finished tile's output (TileJob::stream_tiles); the
                                      // image given to `done` then has its size only
    std::function<bool()> cancelled;  // polled before each tile
    std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
    // Called once, on a worker thread, without scheduler locks held.
    std::function<void(Result, Image, const std::string& error, double queue_s, double inference_s, int tiles)> done;
  };

  explicit Scheduler(const Options& o);
  ~Scheduler();
  // false when max_requests are in flight (RESOURCE_EXHAUSTED); throws scales::Error for a bad image.
  bool submit(Request r);
  size_t in_flight() const;
  size_t waiting_tiles() const;
  // The LR tile side an image of this size will be cut into (the engines' setting or automatic
  // size): what a request's memory reservation counts its rows of tiles by (footprint.h).
  int tile_size(const Model& model, int width, int height) const {
    return engines_.front()->tile_size(model, width, height);
  }
  std::string kernel() const;
  std::string backend() const;       // "cpu" or the device backend's name
  DeviceStats device_stats() const;  // summed over the workers' engines
  // Observers for metrics: batch sizes as they form.
  void on_batch(std::function<void(int)> f) { on_batch_ = std::move(f); }
  // ... and after each batch ran (device memory, device time), on the worker thread.
  void on_batch_done(std::function<void()> f) { on_batch_done_ = std::move(f); }
  // Finishes every accepted request, then joins the workers.
  void stop();

 private:
  struct Live;
  void loop(Engine& engine);
  // Adds a request's ready tasks to waiting_, grouped by batch key. Called with mu_ held.
  void enqueue(const Live& r, const std::vector<int>& ready, SchedClock::time_point rank, SchedClock::time_point since);
  void finish(const std::shared_ptr<Live>& r, Result res, Image img, const std::string& error);

  const Options opt_;
  std::function<void(int)> on_batch_;
  std::function<void()> on_batch_done_;
  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::vector<WaitingRequest> waiting_;
  std::map<uint64_t, std::shared_ptr<Live>> live_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Engine>> engines_;
  ThreadGroup workers_{"scales-engine"};  // one per engine, each running loop()
};

}  // namespace scales::server
