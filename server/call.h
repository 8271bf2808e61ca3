// One image request, from its uploaded bytes to its encoded result: the pipeline Upscale,
// UpscaleStream and the request fuzzer (tests/fuzz/fuzz_request.cc) all run.
//
//   I/O pool:   deadline / cancellation checks -> options parsed once into typed values
//               (CallOptions: the model, imageio::EncodeOptions) -> the header read, limits
//               checked -> the request's peak memory (footprint.h) reserved from the budget,
//               waiting without a thread if it must (memory_budget.h) -> decode
//   scheduler:  the image's tiles on the engine workers (scheduler/); each finished tile is
//               rounded into the encoder's rows (imageio::RowEncoder), which encodes every
//               complete row of tiles on its own thread while the rest still runs
//   I/O pool:   the encoder's last rows -> the reply, called exactly once
// Neither the float output nor (with CallRequest::stream) the encoded result is ever held whole.
//
// A Call knows no gRPC: it ends in a CallResult whose Code the RPC adapters (service.cc) map to a
// grpc::StatusCode. Ownership: the Call keeps itself alive (shared_ptr) until it has replied.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "io_pool.h"
#include "memory_budget.h"
#include "registry.h"
#include "scales/imageio.h"
#include "scales/v1/upscaler.pb.h"
#include "scheduler/scheduler.h"

namespace scales::server {

class Metrics;
using Clock = std::chrono::steady_clock;

// The status codes a call can end with (their meanings: proto/scales/v1/upscaler.proto).
enum class Code { ok, cancelled, invalid_argument, deadline_exceeded, not_found, resource_exhausted, internal };
const char* code_name(Code c);  // "OK", "CANCELLED", ... as gRPC spells them

// A request's options, parsed and checked once.
struct CallOptions {
  std::shared_ptr<const ServedModel> model;
  imageio::EncodeOptions encode;
};
struct CallError {
  Code code;
  std::string message;
};
// Throws CallError: an unknown format, a bad quality or scale, an unknown model.
CallOptions parse_options(const scales::v1::UpscaleOptions& o, const Registry& registry);

struct CallResult {
  Code code = Code::ok;
  std::string message;  // empty when ok
  // With resource_exhausted: the request itself is over a limit (its image's pixels or sides, or
  // more memory than the whole budget), not the server full; HTTP answers 413 rather than 429.
  bool too_large = false;
  std::string model;  // as requested, or as resolved once found
  int in_w = 0, in_h = 0, out_w = 0, out_h = 0;
  std::string image;  // the encoded result
  scales::v1::ResultInfo info;
  // The call's memory reservation: whoever holds the result (and its bytes) holds this too, and
  // drops it when the reply has been written.
  Reservation memory;
};

// What every call of a server shares.
struct CallContext {
  const Registry& registry;
  IoPool& io;
  Scheduler& scheduler;
  Metrics* metrics = nullptr;  // null: not recorded (the fuzzer)
  imageio::Limits limits;
  MemoryBudget* budget = nullptr;                    // null: no budget
  std::chrono::milliseconds max_memory_wait{30000};  // the longest a call waits for memory (or its deadline)
  size_t max_memory_waiters = 64;                    // calls waiting for memory before RESOURCE_EXHAUSTED
};

struct CallRequest {
  std::string_view bytes;  // the uploaded image: the caller keeps it alive until `reply` is called
  scales::v1::UpscaleOptions options;
  Clock::time_point t0 = Clock::now();  // when the RPC arrived
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::function<bool()> cancelled = [] { return false; };
  // Set: the encoded result is streamed instead of returned in CallResult::image. Called with
  // each piece (about 1 MiB) as the encoder produces it, in order, on the encoder's thread (the
  // last piece on the I/O pool, before `reply`); `first` is set on the first call only and holds
  // the result's shape (model, scale, width, height, format), not yet its size or timings.
  std::function<void(const scales::v1::ResultInfo* first, std::string bytes)> stream;
  // Set: called once the image is decoded, when `bytes` is no longer read (the caller may free
  // the upload then rather than at the reply).
  std::function<void()> release_upload;
  // At or above 0: the upload was spooled to this file (upload.h) and is read from here, not
  // from `bytes`; the caller keeps it open until `reply` (or release_upload) is called.
  int upload_fd = -1;
};

// Runs the call's first stage on the calling thread (an I/O pool job): `reply` is called exactly
// once, on some I/O pool thread, or on this one when the call ends before the scheduler.
void start_call(CallContext& cx, CallRequest req, std::function<void(CallResult)> reply);

}  // namespace scales::server
