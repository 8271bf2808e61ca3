// Prometheus metrics of the service, served by prometheus-cpp on their own HTTP port (/metrics).
// Names follow Prometheus conventions: a scales_ prefix, base units (seconds), _total counters,
// histograms with buckets up to a minute for multi-second upscales.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace scales::server {

class Metrics {
 public:
  // Starts the HTTP exposer on `listen` (host:port); throws std::exception when it cannot bind.
  explicit Metrics(const std::string& listen);

  void set_build_info(const std::string& version, const std::string& kernel, const std::string& backend);
  void set_model_info(const std::string& model, int scale, const std::string& architecture, const std::string& variant);

  // One finished image call: gRPC status code name ("OK", "INVALID_ARGUMENT", ...) whatever the
  // protocol, so both protocols sum on one dashboard; `protocol`: "grpc" or "http".
  void request_done(const std::string& model, const std::string& code, double total_s, const std::string& protocol);
  // One image run through the engine.
  void image_done(const std::string& model, double queue_s, double inference_s, int tiles, double in_pixels);
  // One batch of tiles handed to an engine worker.
  void batch_formed(int tiles) { batch_size_.Observe(tiles); }
  // Sets the queue gauge to `count()` (scheduler tiles plus the decode queue), counted under a
  // lock: threads that each counted and then set it could write a stale count last. The ASan
  // server suite once saw 1 left after every call had ended; the likely order is a count taken
  // right after a submit and set only after that call's finish had set 0. `count` takes the
  // scheduler's and the I/O pool's locks inside this one, so no caller may hold either.
  void refresh_queue_depth(const std::function<double()>& count) {
    std::lock_guard<std::mutex> lk(queue_depth_mu_);
    queue_depth_.Set(count());
  }
  void in_flight_add(double d) { in_flight_.Increment(d); }
  // The memory budget (memory_budget.h): its size, the bytes reserved, the requests waiting.
  void set_memory(size_t capacity, size_t in_use, size_t waiting);
  // The upload spool (upload.h): its cap (--max-spool-mb) and the bytes on disk.
  void set_spool(size_t capacity, size_t in_use);
  // A request refused by the budget: "too_large" (more than the whole budget) or "wait_over".
  void memory_refused(const std::string& reason) { memory_refusals_.Add({{"reason", reason}}).Increment(); }
  // The device backend's totals so far (DeviceStats): memory gauges and device busy time.
  void set_device(size_t memory_in_use, size_t memory_reserved, double kernel_seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Exposer exposer_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Family<prometheus::Histogram>& queue_seconds_;
  prometheus::Family<prometheus::Histogram>& inference_seconds_;
  prometheus::Histogram& batch_size_;
  prometheus::Family<prometheus::Counter>& tiles_;
  prometheus::Family<prometheus::Counter>& pixels_;
  prometheus::Gauge& queue_depth_;
  std::mutex queue_depth_mu_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& device_in_use_;
  prometheus::Gauge& device_reserved_;
  prometheus::Counter& device_seconds_;
  prometheus::Gauge& memory_capacity_;
  prometheus::Gauge& memory_in_use_;
  prometheus::Gauge& memory_waiting_;
  prometheus::Family<prometheus::Counter>& memory_refusals_;
  prometheus::Gauge& spool_capacity_;
  prometheus::Gauge& spool_in_use_;
  double device_seconds_seen_ = 0;  // guarded by mu_
  prometheus::Family<prometheus::Gauge>& build_info_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  std::mutex mu_;  // Family::Add is thread-safe; this only orders the info gauges' resets
};

}  // namespace scales::server
