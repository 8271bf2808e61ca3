// SCALES-SR engine: the public API. A model, an engine (threads + kernel choice), an image in,
// an image out, errors as exceptions.
//
// Ownership: a Model is immutable once loaded and may be shared by threads and engines. An
// Engine owns its thread pool; its upscale() may be called from several threads (calls on one
// engine run one at a time and each uses all the engine's threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scales/types.h"

namespace scales {

namespace net {
class Network;
}

class Model {
 public:
  // Reads and validates a model file (docs/model-format.md); throws Error naming the problem.
  static std::shared_ptr<const Model> load(const std::string& path);
  static std::shared_ptr<const Model> load_from_memory(const std::vector<uint8_t>& bytes,
                                                       const std::string& name = "<memory>");
  explicit Model(std::unique_ptr<net::Network> net);
  ~Model();
  const ModelInfo& info() const;
  // LR pixels of context each tile gets on every side (the network's receptive radius).
  int tile_context() const;
  const net::Network& network() const { return *net_; }

 private:
  std::unique_ptr<net::Network> net_;
};

struct EngineOptions {
  int threads = 0;     // 0: all cores
  std::string kernel;  // binary conv variant: "" (SCALES_KERNEL, else the best), "ref", "avx2", "avx512", "neon"
  int tile = 0;        // LR tile side in pixels; 0: automatic from tile_memory_mb
  size_t tile_memory_mb = 512;  // automatic tiles keep the network's working memory under this
  // Where networks run: "cpu" (the bit-packed CPU kernels), "cuda" (the GPU backend; an error if
  // this build has none or no device is found), "auto" (cuda when possible, else cpu). The ops a
  // device backend does not run (SwinIR's attention and linears, for now) run on the CPU.
  std::string backend = "cpu";
  int device = 0;  // CUDA device index
  // FP layers (head, upsampler, tail): "model" runs each in the precision its model file records
  // when this CPU has a native kernel for it (bf16, int8), else fp32; "fp32" runs all in fp32.
  std::string fp_precision = "model";
  size_t device_batch_memory_mb = 8192;  // a device batch holds at most this much working memory
};

// The device backend's state, for metrics; empty on the CPU backend.
struct DeviceStats {
  std::string device;                             // name, "" without a device backend
  size_t memory_in_use = 0, memory_reserved = 0;  // bytes: weights + feature maps in use / pooled
  double kernel_seconds = 0;                      // device time of all batches so far (CUDA events)
  uint64_t batches = 0, tiles = 0;
};

class TileJob;

// One task of a TileJob (see below), as the engine's tile driver takes them.
struct TileTask {
  TileJob* job = nullptr;
  int task = 0;
};

// What became of one task run by Engine::run.
struct TileOutcome {
  bool completed = false;  // this task finished its job (take_result() is ready)
  std::string error;       // non-empty: this task failed (other tasks are not affected)
  double seconds = 0;      // this task's engine time (a device batch's time split over its tiles)
};

// Which tasks may run together: tasks with equal keys go to a device as one batch (the same
// network and window size). On the CPU tasks run one after another, and the key is the network.
struct BatchKey {
  uint64_t network = 0;
  int width = 0, height = 0;  // the task's input window; 0 on the CPU
  bool device = false;
  bool operator==(const BatchKey&) const = default;
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options = {});  // throws Error for an unknown/unsupported kernel
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Upscales by the model's scale. Images larger than one tile are split into tiles with
  // context overlap and stitched (docs/engine.md: tiling): a TileJob run to its end.
  Image upscale(const Model& model, const Image& input);

  // The tile driver, the one place tile tasks run (upscale(), the server's scheduler and the
  // fuzzers all come here). Runs `tasks`, of any jobs, in order; consecutive tasks with one
  // batch key run as one device batch of at most batch_limit() tasks, the rest one at a time on
  // the CPU. A caller that wants full device batches forms them with batch_key() and
  // batch_limit() (the server's batcher does). Outcomes are in task order; a failed task leaves
  // the others running. Calls on one engine run one at a time.
  std::vector<TileOutcome> run(std::span<const TileTask> tasks);
  // Runs every task of `job`, pass after pass, until it is done (then job.take_result()); throws
  // Error with the first failed task's message.
  void run_to_end(TileJob& job);
  BatchKey batch_key(const TileJob& job, int task) const;
  // The most tasks of this task's key that one device batch holds (device_batch_memory_mb); 0:
  // no limit (the CPU runs tasks one after another anyway).
  size_t batch_limit(const TileJob& job, int task) const;

  std::string kernel() const;   // the binary conv variant of the CPU path
  std::string backend() const;  // "cpu" or the device backend's name ("cuda:0 NVIDIA ...")
  DeviceStats device_stats() const;
  int threads() const;
  // The tile side upscale() will use for this model and image size.
  int tile_size(const Model& model, int width, int height) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One image as a set of tile tasks that a scheduler may run in any order, interleaved with other
// images' tasks, on any engine and thread, through Engine::run. It holds the tile plan, the
// statistics of the two-pass run and the stitched output; it runs nothing itself. Tasks of one
// job may run concurrently. With image-wide statistics and more than one tile, every tile runs
// twice: pass-1 tasks (statistics) and, once all of them are done, pass-2 tasks (the output).
class TileJob {
 public:
  // `tile`: LR tile side (use Engine::tile_size); the image is checked here (throws Error).
  TileJob(std::shared_ptr<const Model> model, Image input, int tile);
  // The input held as 8- or 16-bit samples (a quarter or half of the floats), each window
  // converted as it is read: the same output as the Image constructor on to_image(input).
  TileJob(std::shared_ptr<const Model> model, SampleImage input, int tile);
  ~TileJob();
  TileJob(const TileJob&) = delete;
  TileJob& operator=(const TileJob&) = delete;

  const Model& model() const;
  int tiles() const;
  int tasks_total() const;  // tiles, or 2 x tiles with the statistics pass
  // The tasks that may run now and were not handed out before (each id once).
  std::vector<int> take_ready();
  // The size (width, height) of the input task `task` runs the network on.
  std::pair<int, int> window_size(int task) const;
  bool done() const;
  Image take_result();  // after done(); when streamed (stream_tiles): the size only, rgb empty

  // Streams the output instead of stitching it whole: `sink(x0, y0, core)` receives each tile's
  // own output pixels (its core, upscaled), at output position (x0, y0), as soon as that tile
  // has finished. Cores partition the output: every output pixel arrives exactly once. Calls come
  // from whichever threads run the tiles, concurrently and in any order (a consumer that needs
  // rows in order, such as imageio::RowEncoder, orders them). Set it before any task runs.
  using TileSink = std::function<void(int x0, int y0, const Image& core)>;
  void stream_tiles(TileSink sink);

  // For the tile driver (engine-internal: Work is defined in src/tile/tile_work.h). prepare()
  // fills a task's input and statistics plan; finish() takes its output (statistics or pixels)
  // and returns true when that finished the job. Both are safe to call from several threads.
  struct Work;
  void prepare(int task, Work& w) const;
  bool finish(Work& w);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Upscales with a process-wide default Engine (EngineOptions{}).
Image upscale(const Model& model, const Image& input);

}  // namespace scales
