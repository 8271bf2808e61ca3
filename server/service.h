// The gRPC protocol layer: turns Upscaler RPCs into jobs for the workers and answers them. The
// reactors never block: decoding, inference and encoding run on the workers, which Finish the
// call. Status codes as documented in proto/scales/v1/upscaler.proto.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "metrics.h"
#include "registry.h"
#include "scales/imageio.h"
#include "scales/v1/upscaler.grpc.pb.h"
#include "scheduler/scheduler.h"
#include "workers.h"

namespace scales::server {

using Clock = std::chrono::steady_clock;

struct ServiceLimits {
  imageio::Limits image;         // checked on the header, before decoding
  size_t max_upload_bytes = 0;   // UpscaleStream's whole upload
  size_t max_message_bytes = 0;  // Upscale's response must fit one message
};

class UpscalerService final : public scales::v1::Upscaler::CallbackService {
 public:
  UpscalerService(Registry& registry, Workers& io, Scheduler& scheduler, Metrics& metrics, ServiceLimits limits)
      : registry_(registry), io_(io), scheduler_(scheduler), metrics_(metrics), limits_(limits) {}

  // New calls get UNAVAILABLE once draining (SIGTERM) starts.
  void start_draining() { draining_ = true; }
  // Bearer tokens accepted in the "authorization" metadata ("Bearer <token>"); empty: no auth.
  void set_tokens(std::vector<std::string> tokens) { tokens_ = std::move(tokens); }
  // OK, UNAUTHENTICATED (no bearer token) or PERMISSION_DENIED (an unknown one).
  grpc::Status authorize(const grpc::CallbackServerContext* ctx) const;

  grpc::ServerUnaryReactor* Upscale(grpc::CallbackServerContext* ctx, const scales::v1::UpscaleRequest* req,
                                    scales::v1::UpscaleResponse* resp) override;
  grpc::ServerBidiReactor<scales::v1::UpscaleStreamRequest, scales::v1::UpscaleStreamResponse>* UpscaleStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* ctx, const scales::v1::ListModelsRequest* req,
                                       scales::v1::ListModelsResponse* resp) override;

  // What one call's image came to, for its response, log line and metrics.
  struct Outcome {
    grpc::Status status;
    std::string model;
    int in_w = 0, in_h = 0, out_w = 0, out_h = 0;
    std::string image;  // encoded result
    scales::v1::ResultInfo info;
  };
  // The shared path of Upscale and UpscaleStream, started on the I/O pool: deadline and
  // cancellation checks, options, model lookup, decode (limits), then the tile scheduler, then
  // encoding back on the I/O pool. `reply` is called exactly once, on some worker thread.
  void process(const std::string& bytes, const scales::v1::UpscaleOptions& options, Clock::time_point t0,
               std::chrono::system_clock::time_point deadline, std::function<bool()> cancelled,
               std::function<void(Outcome)> reply);
  // Accepting a call: UNAVAILABLE while draining, else counts it in flight.
  grpc::Status admit(const std::string& model);
  bool submit(Workers::Job job) { return io_.submit(std::move(job)); }
  // The RESOURCE_EXHAUSTED answer when the queue is full (logged and counted).
  grpc::Status queue_full(const char* rpc, const std::string& model, Clock::time_point t0);
  // The log line and metrics of a finished, admitted call.
  void record(const char* rpc, const Outcome& o, Clock::time_point t0);

 private:
  Registry& registry_;
  Workers& io_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  const ServiceLimits limits_;
  std::atomic<bool> draining_{false};
  std::vector<std::string> tokens_;
};

}  // namespace scales::server
