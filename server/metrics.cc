#include "metrics.h"

#include <algorithm>

namespace scales::server {

namespace {
const prometheus::Histogram::BucketBoundaries& seconds_buckets() {
  static const prometheus::Histogram::BucketBoundaries b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                            1,     2.5,  5,     10,   20,  40,   60};
  return b;
}
}  // namespace

Metrics::Metrics(const std::string& listen)
    : registry_(std::make_shared<prometheus::Registry>()),
      exposer_(listen),
      requests_(prometheus::BuildCounter()
                    .Name("scales_requests_total")
                    .Help("Image calls finished, by model, gRPC status code name and protocol (grpc, http)")
                    .Register(*registry_)),
      request_seconds_(prometheus::BuildHistogram()
                           .Name("scales_request_duration_seconds")
                           .Help("End-to-end image call latency in the server (decode, queue, inference, encode), by "
                                 "model and protocol")
                           .Register(*registry_)),
      queue_seconds_(prometheus::BuildHistogram()
                         .Name("scales_queue_duration_seconds")
                         .Help("Time an image waited for a worker")
                         .Register(*registry_)),
      inference_seconds_(prometheus::BuildHistogram()
                             .Name("scales_inference_duration_seconds")
                             .Help("Engine time per image (its tiles; a GPU batch split evenly over its tiles)")
                             .Register(*registry_)),
      batch_size_(prometheus::BuildHistogram()
                      .Name("scales_batch_size")
                      .Help("Tiles per batch handed to an engine worker (tiles of several requests)")
                      .Register(*registry_)
                      .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32})),
      tiles_(prometheus::BuildCounter()
                 .Name("scales_tiles_total")
                 .Help("Tiles run through the engine")
                 .Register(*registry_)),
      pixels_(prometheus::BuildCounter()
                  .Name("scales_input_pixels_total")
                  .Help("Input pixels upscaled")
                  .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("scales_queue_depth")
                       .Help("Tiles and requests waiting (scheduler tiles plus the decode queue)")
                       .Register(*registry_)
                       .Add({})),
      in_flight_(prometheus::BuildGauge()
                     .Name("scales_in_flight_requests")
                     .Help("Upscale calls accepted and not yet finished")
                     .Register(*registry_)
                     .Add({})),
      device_in_use_(
          prometheus::BuildGauge()
              .Name("scales_device_memory_bytes")
              .Help("GPU memory of the device backend: weights and feature maps in use, or reserved by its pool")
              .Register(*registry_)
              .Add({{"state", "in_use"}})),
      device_reserved_(
          prometheus::BuildGauge()
              .Name("scales_device_memory_bytes")
              .Help("GPU memory of the device backend: weights and feature maps in use, or reserved by its pool")
              .Register(*registry_)
              .Add({{"state", "reserved"}})),
      device_seconds_(prometheus::BuildCounter()
                          .Name("scales_device_busy_seconds_total")
                          .Help("Device time of the GPU batches (CUDA events around each batch)")
                          .Register(*registry_)
                          .Add({})),
      memory_capacity_(
          prometheus::BuildGauge()
              .Name("scales_memory_budget_bytes")
              .Help("The memory budget of image requests (--memory-budget), and the bytes reserved from it")
              .Register(*registry_)
              .Add({{"state", "capacity"}})),
      memory_in_use_(prometheus::BuildGauge()
                         .Name("scales_memory_budget_bytes")
                         .Help("The memory budget of image requests (--memory-budget), and the bytes reserved from it")
                         .Register(*registry_)
                         .Add({{"state", "in_use"}})),
      memory_waiting_(prometheus::BuildGauge()
                          .Name("scales_memory_waiting_requests")
                          .Help("Requests waiting for their memory reservation")
                          .Register(*registry_)
                          .Add({})),
      memory_refusals_(
          prometheus::BuildCounter()
              .Name("scales_memory_refusals_total")
              .Help("Requests refused by the memory budget: larger than all of it, or it did not free up in time")
              .Register(*registry_)),
      spool_capacity_(prometheus::BuildGauge()
                          .Name("scales_upload_spool_bytes")
                          .Help("Large uploads waiting on disk (--max-spool-mb), and the bytes they hold")
                          .Register(*registry_)
                          .Add({{"state", "capacity"}})),
      spool_in_use_(prometheus::BuildGauge()
                        .Name("scales_upload_spool_bytes")
                        .Help("Large uploads waiting on disk (--max-spool-mb), and the bytes they hold")
                        .Register(*registry_)
                        .Add({{"state", "in_use"}})),
      build_info_(prometheus::BuildGauge()
                      .Name("scales_build_info")
                      .Help("Always 1; labels describe the build")
                      .Register(*registry_)),
      model_info_(prometheus::BuildGauge()
                      .Name("scales_model_info")
                      .Help("Always 1 per served model; labels describe it")
                      .Register(*registry_)) {
  exposer_.RegisterCollectable(registry_);
}

void Metrics::set_build_info(const std::string& version, const std::string& kernel, const std::string& backend) {
  build_info_.Add({{"version", version}, {"kernel", kernel}, {"backend", backend}}).Set(1);
}

void Metrics::set_memory(size_t capacity, size_t in_use, size_t waiting) {
  memory_capacity_.Set(static_cast<double>(capacity));
  memory_in_use_.Set(static_cast<double>(in_use));
  memory_waiting_.Set(static_cast<double>(waiting));
}

void Metrics::set_spool(size_t capacity, size_t in_use) {
  spool_capacity_.Set(static_cast<double>(capacity));
  spool_in_use_.Set(static_cast<double>(in_use));
}

void Metrics::set_device(size_t memory_in_use, size_t memory_reserved, double kernel_seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  device_in_use_.Set(static_cast<double>(memory_in_use));
  device_reserved_.Set(static_cast<double>(memory_reserved));
  if (kernel_seconds > device_seconds_seen_) device_seconds_.Increment(kernel_seconds - device_seconds_seen_);
  device_seconds_seen_ = std::max(device_seconds_seen_, kernel_seconds);
}

void Metrics::set_model_info(const std::string& model, int scale, const std::string& architecture,
                             const std::string& variant) {
  std::lock_guard<std::mutex> lk(mu_);
  model_info_
      .Add({{"model", model}, {"scale", std::to_string(scale)}, {"architecture", architecture}, {"variant", variant}})
      .Set(1);
}

void Metrics::request_done(const std::string& model, const std::string& code, double total_s,
                           const std::string& protocol) {
  requests_.Add({{"model", model}, {"code", code}, {"protocol", protocol}}).Increment();
  request_seconds_.Add({{"model", model}, {"protocol", protocol}}, seconds_buckets()).Observe(total_s);
}

void Metrics::image_done(const std::string& model, double queue_s, double inference_s, int tiles, double in_pixels) {
  queue_seconds_.Add({{"model", model}}, seconds_buckets()).Observe(queue_s);
  inference_seconds_.Add({{"model", model}}, seconds_buckets()).Observe(inference_s);
  tiles_.Add({{"model", model}}).Increment(tiles);
  pixels_.Add({{"model", model}}).Increment(in_pixels);
}

}  // namespace scales::server
