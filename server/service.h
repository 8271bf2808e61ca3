// The gRPC protocol layer: turns Upscaler RPCs into jobs for the workers and answers them. The
// reactors never block: decoding, inference and encoding run on the workers, which Finish the
// call. Status codes as documented in proto/scales/v1/upscaler.proto.
#pragma once

#include <atomic>

#include "metrics.h"
#include "registry.h"
#include "scales/imageio.h"
#include "scales/v1/upscaler.grpc.pb.h"
#include "workers.h"

namespace scales::server {

struct ServiceLimits {
  imageio::Limits image;  // checked on the header, before decoding
};

class UpscalerService final : public scales::v1::Upscaler::CallbackService {
 public:
  UpscalerService(Registry& registry, Workers& workers, Metrics& metrics, ServiceLimits limits)
      : registry_(registry), workers_(workers), metrics_(metrics), limits_(limits) {}

  // New calls get UNAVAILABLE once draining (SIGTERM) starts.
  void start_draining() { draining_ = true; }

  grpc::ServerUnaryReactor* Upscale(grpc::CallbackServerContext* ctx, const scales::v1::UpscaleRequest* req,
                                    scales::v1::UpscaleResponse* resp) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* ctx, const scales::v1::ListModelsRequest* req,
                                       scales::v1::ListModelsResponse* resp) override;

 private:
  Registry& registry_;
  Workers& workers_;
  Metrics& metrics_;
  const ServiceLimits limits_;
  std::atomic<bool> draining_{false};
};

}  // namespace scales::server
