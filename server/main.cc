// scales-server: the SCALES-SR upscaling service (proto/scales/v1/upscaler.proto).
//
//   scales-server --listen 0.0.0.0:50051 --models models/weights
//
//   scales-server --listen 0.0.0.0:50051 --http-listen 0.0.0.0:8080 ...   (REST and the web page too)
//
// Every flag can also be set by the environment variable named in --help. Signals: SIGHUP reloads
// the model directory; SIGTERM/SIGINT drain: new calls get UNAVAILABLE, in-flight and queued
// calls finish within --grace-seconds, then the process exits.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <malloc.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vips/vips8>

#include "config.h"
#include "grpc/health/v1/health.pb.h"
#include "http/http_server.h"
#include "io_pool.h"
#include "memory_budget.h"
#include "metrics.h"
#include "registry.h"
#include "scheduler/scheduler.h"
#include "service.h"

int main(int argc, char** argv) {
  if (VIPS_INIT(argv[0])) {
    std::fprintf(stderr, "error: cannot initialise libvips\n");
    return 2;
  }
  scales::server::Config c;
  if (const int rc = scales::server::parse_config(argc, argv, c); rc >= 0) return rc;
  // Every request brings a new image: libvips' operation cache would only keep their buffers
  // alive (up to 100 MB) outside the memory budget.
  vips_cache_set_max(0);
  // libvips' only threaded work here is each encode's save (imageio::RowEncoder), whose workers
  // copy queued rows while one thread compresses: more than one worker per encode adds threads,
  // not speed. libvips keeps every worker it ever started (its thread set), so this also bounds
  // the server's threads by the encodes running at once. Parallelism is across requests.
  vips_concurrency_set(1);
  // Buffers of 4 MiB and more are mapped and unmapped on their own, so a finished request's
  // memory goes back to the system instead of staying in malloc's heaps (glibc would otherwise
  // raise this threshold as large blocks are freed, up to 32 MiB); fewer heaps than glibc's
  // default of 8 per core keep that slack small with many I/O, gRPC and engine threads.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_ARENA_MAX, 4);

  // Signals go to one thread (sigwait), so no handler runs inside gRPC or engine code.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  scales::server::Registry registry;
  try {
    std::vector<std::string> warnings;
    registry.load(c.models_dir, warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "warning: skipped model: %s\n", w.c_str());
  } catch (const scales::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  scales::server::IoPool io(c.io_threads, static_cast<size_t>(c.max_queue));
  scales::server::Scheduler::Options so;
  so.workers = c.workers;
  so.threads_per_worker = c.threads;
  so.tile = c.tile;
  so.tile_memory_mb = static_cast<size_t>(c.tile_memory_mb);
  so.policy.max_batch = c.max_batch;
  so.policy.max_delay = std::chrono::microseconds(c.max_delay_us);
  so.policy.starvation = std::chrono::milliseconds(c.starvation_ms);
  so.policy.quick_pixels = static_cast<double>(c.quick_pixels);
  so.policy.max_batch_cost = c.cpu_batch_mpx * 1e6;
  so.max_requests = static_cast<size_t>(c.max_in_flight);
  so.backend = c.backend;
  so.device = c.device;
  so.fp_precision = c.fp_precision;
  std::unique_ptr<scales::server::Scheduler> scheduler_owner;
  try {
    scheduler_owner = std::make_unique<scales::server::Scheduler>(so);
  } catch (const scales::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  scales::server::Scheduler& scheduler = *scheduler_owner;
  std::unique_ptr<scales::server::Metrics> metrics;
  try {
    metrics = std::make_unique<scales::server::Metrics>(c.metrics_listen);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: cannot serve metrics on %s: %s\n", c.metrics_listen.c_str(), e.what());
    return 2;
  }
  const std::string kernel = scheduler.kernel();
  scheduler.on_batch([m = metrics.get(), &scheduler, &io](int n) {
    m->batch_formed(n);
    m->refresh_queue_depth([&] { return static_cast<double>(scheduler.waiting_tiles() + io.queued()); });
  });
  const std::string backend_name = scheduler.backend();
  metrics->set_build_info(SCALES_VERSION, kernel, backend_name);
  if (backend_name != "cpu")
    scheduler.on_batch_done([m = metrics.get(), &scheduler] {
      const scales::DeviceStats d = scheduler.device_stats();
      m->set_device(d.memory_in_use, d.memory_reserved, d.kernel_seconds);
    });
  for (const auto& m : *registry.snapshot())
    metrics->set_model_info(m->name, m->model->info().scale, m->model->info().architecture, m->model->info().variant);
  scales::server::SpoolQuota spool_quota(static_cast<size_t>(c.max_spool_mb) << 20);
  metrics->set_spool(spool_quota.cap(), 0);
  spool_quota.on_change([m = metrics.get(), cap = spool_quota.cap()](size_t used) { m->set_spool(cap, used); });
  scales::server::UpscalerService service(registry, io, scheduler, *metrics,
                                          {{c.max_pixels, c.max_side},
                                           static_cast<size_t>(c.max_upload_mb) << 20,
                                           static_cast<size_t>(c.max_message_mb) << 20,
                                           {static_cast<size_t>(c.spool_above_mb) << 20, c.spool_dir, &spool_quota}});

  // Declared after the service, so destroyed before it: a call still waiting for memory at exit
  // is refused (through the service) while the service exists.
  scales::server::MemoryBudget budget(c.memory_budget_bytes);
  service.set_memory_budget(&budget, std::chrono::seconds(c.max_memory_wait_s), static_cast<size_t>(c.max_queue));
  metrics->set_memory(budget.capacity(), 0, 0);
  budget.on_change([m = metrics.get(), cap = budget.capacity()](size_t in_use, size_t waiting) {
    m->set_memory(cap, in_use, waiting);
  });
  if (c.memory_budget_bytes > 0)
    std::fprintf(stderr, "memory budget %zu MiB for image requests (%s)\n", c.memory_budget_bytes >> 20,
                 c.memory_budget_source.c_str());
  else
    std::fprintf(stderr, "memory budget off (--memory-budget 0): images are limited by count only\n");

  grpc::EnableDefaultHealthCheckService(true);
  // The built-in health service has no protobuf descriptor; naming ours (proto/grpc/health/v1)
  // links it into the pool, so reflection can describe grpc.health.v1.Health to buf curl / grpcurl.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!c.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl(c.tls_client_ca.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_key_cert_pairs.push_back({scales::server::read_text(c.tls_key), scales::server::read_text(c.tls_cert)});
    if (!c.tls_client_ca.empty()) ssl.pem_root_certs = scales::server::read_text(c.tls_client_ca);
    creds = grpc::SslServerCredentials(ssl);
  }
  service.set_tokens(c.tokens);
  if (!c.loopback() && (c.tls_cert.empty() || c.tokens.empty()))
    std::fprintf(stderr, "warning: %s is not loopback and runs without %s%s%s (docs/service.md: production)\n",
                 c.listen.c_str(), c.tls_cert.empty() ? "TLS" : "",
                 c.tls_cert.empty() && c.tokens.empty() ? " and " : "", c.tokens.empty() ? "bearer tokens" : "");
  builder.AddListeningPort(c.listen, creds, &port);
  builder.SetMaxReceiveMessageSize(c.max_message_mb << 20);
  builder.SetMaxSendMessageSize(c.max_message_mb << 20);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "error: cannot listen on %s\n", c.listen.c_str());
    return 2;
  }
  server->GetHealthCheckService()->SetServingStatus("scales.v1.Upscaler", true);
  // The HTTP front door: same service (admission, draining, metrics), same TLS and tokens.
  std::unique_ptr<scales::server::http::HttpServer> http;
  if (!c.http_listen.empty()) {
    http = std::make_unique<scales::server::http::HttpServer>(
        scales::server::http::HttpOptions{c.http_listen, c.http_threads, static_cast<size_t>(c.max_upload_mb) << 20,
                                          c.tls_cert, c.tls_key, c.tls_client_ca},
        service, registry);
    if (std::string error; !http->start(error)) {
      std::fprintf(stderr, "error: %s\n", error.c_str());
      return 2;
    }
    if (!c.http_loopback() && (c.tls_cert.empty() || c.tokens.empty()))
      std::fprintf(stderr, "warning: HTTP %s is not loopback and runs without %s%s%s (docs/service.md: production)\n",
                   c.http_listen.c_str(), c.tls_cert.empty() ? "TLS" : "",
                   c.tls_cert.empty() && c.tokens.empty() ? " and " : "", c.tokens.empty() ? "bearer tokens" : "");
    std::fprintf(stderr, "HTTP on %s (port %d, %s): REST /v1/models, web page /\n", c.http_listen.c_str(), http->port(),
                 c.tls_cert.empty() ? "plain" : "TLS");
  }
  for (const auto& m : *registry.snapshot())
    std::fprintf(stderr, "model %s x%d%s\n", m->name.c_str(), m->model->info().scale,
                 m->is_default ? " (default)" : "");
  std::fprintf(
      stderr,
      "scales-server listening on %s (port %d), metrics on %s, %d workers x %d threads, kernel %s, backend %s\n",
      c.listen.c_str(), port, c.metrics_listen.c_str(), c.workers, c.threads, kernel.c_str(), backend_name.c_str());

  for (;;) {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig == SIGHUP) {
      try {
        std::vector<std::string> warnings;
        registry.load(c.models_dir, warnings);
        for (const auto& w : warnings) std::fprintf(stderr, "warning: skipped model: %s\n", w.c_str());
        std::fprintf(stderr, "reloaded %zu models from %s\n", registry.snapshot()->size(), c.models_dir.c_str());
        for (const auto& m : *registry.snapshot())
          metrics->set_model_info(m->name, m->model->info().scale, m->model->info().architecture,
                                  m->model->info().variant);
      } catch (const scales::Error& e) {
        std::fprintf(stderr, "error: reload failed, keeping the loaded models: %s\n", e.what());
      }
      continue;
    }
    std::fprintf(stderr, "draining (signal %d): %zu images in flight, grace %d s\n", sig, scheduler.in_flight(),
                 c.grace_seconds);
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(c.grace_seconds);
    service.start_draining();
    server->GetHealthCheckService()->SetServingStatus(false);
    // Every admitted call answered and written first: Shutdown closes the connections at once.
    if (!service.wait_idle(deadline)) std::fprintf(stderr, "grace period over: cancelling the calls left\n");
    if (http) http->stop();
    server->Shutdown(deadline);
    server->Wait();
    scheduler.stop();  // its last results are encoded on the I/O pool
    io.stop();
    std::fprintf(stderr, "stopped\n");
    break;
  }
  vips_shutdown();
  return 0;
}
