// The gRPC protocol layer, RPC adapters only: authorization, admission and draining, reading and
// writing the messages, status codes (proto/scales/v1/upscaler.proto), the log line and request
// metrics. Each image request becomes a Call (call.h) on the I/O pool; the reactors never block (a spooled
// upload's chunk is written to the page cache on the reactor's thread: upload.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "call.h"
#include "io_pool.h"
#include "metrics.h"
#include "registry.h"
#include "scales/imageio.h"
#include "scales/v1/upscaler.grpc.pb.h"
#include "scheduler/scheduler.h"
#include "upload.h"

namespace scales::server {

struct ServiceLimits {
  imageio::Limits image;         // checked on the header, before decoding
  size_t max_upload_bytes = 0;   // UpscaleStream's whole upload
  size_t max_message_bytes = 0;  // Upscale's response must fit one message
  SpoolOptions spool;            // where UpscaleStream's large uploads wait (upload.h)
};

class UpscalerService final : public scales::v1::Upscaler::CallbackService {
 public:
  UpscalerService(Registry& registry, IoPool& io, Scheduler& scheduler, Metrics& metrics, ServiceLimits limits)
      : registry_(registry),
        io_(io),
        metrics_(metrics),
        limits_(limits),
        calls_{registry, io, scheduler, &metrics, limits.image} {}

  // New calls get UNAVAILABLE once draining (SIGTERM) starts.
  void start_draining() {
    std::lock_guard<std::mutex> lk(open_mu_);
    draining_ = true;
  }
  // Waits until every admitted call is done (gRPC's OnDone: its reply written), or `deadline`;
  // false on timeout. Draining waits here before grpc::Server::Shutdown, which closes the
  // connections at once (grpc/grpc#30695: no graceful transport shutdown in C++), so a reply
  // still being written when it ran reached the client as a connection reset.
  bool wait_idle(std::chrono::system_clock::time_point deadline);
  void call_done();  // a reactor's OnDone, for an admitted call
  // Image requests reserve their memory from `budget` (which must outlive their calls), waiting
  // at most `max_wait` (or until their deadline); at most `max_waiters` wait at once.
  void set_memory_budget(MemoryBudget* budget, std::chrono::milliseconds max_wait, size_t max_waiters) {
    calls_.budget = budget;
    calls_.max_memory_wait = max_wait;
    calls_.max_memory_waiters = max_waiters;
  }
  // Bearer tokens accepted in the "authorization" metadata ("Bearer <token>"); empty: no auth.
  void set_tokens(std::vector<std::string> tokens) { tokens_ = std::move(tokens); }
  const std::vector<std::string>& tokens() const { return tokens_; }  // the HTTP front door checks them too
  const SpoolOptions& spool() const { return limits_.spool; }         // and spools its large bodies the same way
  bool draining() {
    std::lock_guard<std::mutex> lk(open_mu_);
    return draining_;
  }
  // OK, UNAUTHENTICATED (no bearer token) or PERMISSION_DENIED (an unknown one).
  grpc::Status authorize(const grpc::CallbackServerContext* ctx) const;

  grpc::ServerUnaryReactor* Upscale(grpc::CallbackServerContext* ctx, const scales::v1::UpscaleRequest* req,
                                    scales::v1::UpscaleResponse* resp) override;
  grpc::ServerBidiReactor<scales::v1::UpscaleStreamRequest, scales::v1::UpscaleStreamResponse>* UpscaleStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* ctx, const scales::v1::ListModelsRequest* req,
                                       scales::v1::ListModelsResponse* resp) override;

  // Runs one image request (an I/O pool job): `reply` is called exactly once (call.h).
  void start(CallRequest req, std::function<void(CallResult)> reply) {
    start_call(calls_, std::move(req), std::move(reply));
  }
  // Accepting a call: UNAVAILABLE while draining, else counts it in flight and open (until the
  // reactor's OnDone calls call_done()). `protocol` ("grpc", "http") labels the log line and metrics.
  grpc::Status admit(const std::string& model, const char* protocol = "grpc");
  bool submit(IoPool::Job job) { return io_.submit(std::move(job)); }
  // The RESOURCE_EXHAUSTED answer when the queue is full (logged and counted).
  grpc::Status queue_full(const char* rpc, const std::string& model, Clock::time_point t0,
                          const char* protocol = "grpc");
  // The log line and metrics of a finished, admitted call.
  void record(const char* rpc, const CallResult& r, Clock::time_point t0, const char* protocol = "grpc");

 private:
  Registry& registry_;
  IoPool& io_;
  Metrics& metrics_;
  const ServiceLimits limits_;
  CallContext calls_;
  std::mutex open_mu_;  // guards draining_ and open_
  std::condition_variable open_cv_;
  bool draining_ = false;
  int open_ = 0;  // admitted calls not yet done
  std::vector<std::string> tokens_;
};

}  // namespace scales::server
