// scales-server: the SCALES-SR upscaling service (proto/scales/v1/upscaler.proto).
//
//   scales-server --listen 0.0.0.0:50051 --models models/weights
//
// Every flag can also be set by the environment variable named in --help. Signals: SIGHUP reloads
// the model directory; SIGTERM/SIGINT drain: new calls get UNAVAILABLE, in-flight and queued
// calls finish within --grace-seconds, then the process exits.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vips/vips8>

#include "metrics.h"
#include "registry.h"
#include "scheduler/scheduler.h"
#include "service.h"
#include "workers.h"

int main(int argc, char** argv) {
  if (VIPS_INIT(argv[0])) {
    std::fprintf(stderr, "error: cannot initialise libvips\n");
    return 2;
  }
  CLI::App app{"SCALES-SR upscaling service (gRPC)."};
  std::string listen = "0.0.0.0:50051", metrics_listen = "0.0.0.0:9090", models_dir = "models/weights";
  int workers = 1, threads = 0, io_threads = 2, max_batch = 8, max_delay_us = 2000, tile = 0, max_in_flight = 64,
      max_queue = 64, max_side = 16384, max_message_mb = 64, max_upload_mb = 512, grace = 30;
  int64_t max_pixels = 16 * 1024 * 1024;
  std::string backend = "auto";
  int device = 0;
  app.add_option("--listen", listen, "gRPC address")->envname("SCALES_LISTEN")->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen, "Prometheus /metrics HTTP address")
      ->envname("SCALES_METRICS_LISTEN")
      ->capture_default_str();
  app.add_option("--models", models_dir, "model directory (*.safetensors; name = file stem)")
      ->envname("SCALES_MODELS")
      ->capture_default_str();
  app.add_option("--workers", workers, "engine workers (tile batches run at once)")
      ->envname("SCALES_WORKERS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--threads", threads, "engine threads per worker (0 = all cores / workers)")
      ->envname("SCALES_THREADS")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--backend", backend,
                 "where models run: auto (a CUDA GPU when this build has the backend and finds one), cpu, cuda")
      ->envname("SCALES_BACKEND")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--device", device, "CUDA device index (with --backend cuda/auto)")
      ->envname("SCALES_DEVICE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--io-threads", io_threads, "decode/encode threads")
      ->envname("SCALES_IO_THREADS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--max-batch", max_batch, "tiles per batch (from any requests)")
      ->envname("SCALES_MAX_BATCH")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--max-delay-us", max_delay_us, "how long a tile may wait for its batch to fill, microseconds")
      ->envname("SCALES_MAX_DELAY_US")
      ->check(CLI::Range(0, 10000000))
      ->capture_default_str();
  app.add_option("--tile", tile, "LR tile side (0 = automatic from the engine's memory budget)")
      ->envname("SCALES_TILE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-in-flight", max_in_flight, "decoded images in the scheduler before RESOURCE_EXHAUSTED")
      ->envname("SCALES_MAX_IN_FLIGHT")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--max-queue", max_queue, "requests waiting to be decoded before RESOURCE_EXHAUSTED")
      ->envname("SCALES_MAX_QUEUE")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--max-pixels", max_pixels, "largest input in pixels (checked on the header)")
      ->envname("SCALES_MAX_PIXELS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-side", max_side, "largest input width or height")
      ->envname("SCALES_MAX_SIDE")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-message-mb", max_message_mb, "largest gRPC message, MiB (both directions)")
      ->envname("SCALES_MAX_MESSAGE_MB")
      ->check(CLI::Range(1, 2047))
      ->capture_default_str();
  app.add_option("--max-upload-mb", max_upload_mb, "largest UpscaleStream upload, MiB")
      ->envname("SCALES_MAX_UPLOAD_MB")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--grace-seconds", grace, "how long SIGTERM waits for in-flight calls")
      ->envname("SCALES_GRACE_SECONDS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  std::string tls_cert, tls_key, tls_client_ca, tokens_file;
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve TLS (with --tls-key)")
      ->envname("SCALES_TLS_CERT")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")
      ->envname("SCALES_TLS_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", tls_client_ca, "PEM CA bundle: require and verify client certificates")
      ->envname("SCALES_TLS_CLIENT_CA")
      ->check(CLI::ExistingFile);
  app.add_option("--auth-tokens", tokens_file, "file of accepted bearer tokens, one per line")
      ->envname("SCALES_AUTH_TOKENS")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  if (tls_cert.empty() != tls_key.empty()) {
    std::fprintf(stderr, "error: --tls-cert and --tls-key go together\n");
    return 2;
  }
  if (!tls_client_ca.empty() && tls_cert.empty()) {
    std::fprintf(stderr, "error: --tls-client-ca needs --tls-cert and --tls-key\n");
    return 2;
  }
  auto read_text = [](const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  std::vector<std::string> tokens;
  if (!tokens_file.empty()) {
    std::istringstream lines(read_text(tokens_file));
    for (std::string t; std::getline(lines, t);) {
      while (!t.empty() && (t.back() == '\r' || t.back() == ' ')) t.pop_back();
      if (!t.empty() && t[0] != '#') tokens.push_back(t);
    }
    if (tokens.empty()) {
      std::fprintf(stderr, "error: %s holds no token\n", tokens_file.c_str());
      return 2;
    }
  }

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
    registry.load(models_dir, warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "warning: skipped model: %s\n", w.c_str());
  } catch (const scales::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency() / static_cast<unsigned>(workers));
  scales::server::Workers io(io_threads, static_cast<size_t>(max_queue));
  scales::server::Scheduler::Options so;
  so.workers = workers;
  so.threads_per_worker = threads;
  so.tile = tile;
  so.policy = {max_batch, std::chrono::microseconds(max_delay_us)};
  so.max_requests = static_cast<size_t>(max_in_flight);
  so.backend = backend;
  so.device = device;
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
    metrics = std::make_unique<scales::server::Metrics>(metrics_listen);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: cannot serve metrics on %s: %s\n", metrics_listen.c_str(), e.what());
    return 2;
  }
  const std::string kernel = scheduler.kernel();
  scheduler.on_batch([m = metrics.get(), &scheduler, &io](int n) {
    m->batch_formed(n);
    m->set_queue_depth(static_cast<double>(scheduler.waiting_tiles() + io.queued()));
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
  scales::server::UpscalerService service(
      registry, io, scheduler, *metrics,
      {{max_pixels, max_side}, static_cast<size_t>(max_upload_mb) << 20, static_cast<size_t>(max_message_mb) << 20});

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl(tls_client_ca.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_key_cert_pairs.push_back({read_text(tls_key), read_text(tls_cert)});
    if (!tls_client_ca.empty()) ssl.pem_root_certs = read_text(tls_client_ca);
    creds = grpc::SslServerCredentials(ssl);
  }
  service.set_tokens(tokens);
  const bool loopback = listen.starts_with("127.") || listen.starts_with("localhost") || listen.starts_with("[::1]");
  if (!loopback && (tls_cert.empty() || tokens.empty()))
    std::fprintf(stderr, "warning: %s is not loopback and runs without %s%s%s (docs/service.md: production)\n",
                 listen.c_str(), tls_cert.empty() ? "TLS" : "", tls_cert.empty() && tokens.empty() ? " and " : "",
                 tokens.empty() ? "bearer tokens" : "");
  builder.AddListeningPort(listen, creds, &port);
  builder.SetMaxReceiveMessageSize(max_message_mb << 20);
  builder.SetMaxSendMessageSize(max_message_mb << 20);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "error: cannot listen on %s\n", listen.c_str());
    return 2;
  }
  server->GetHealthCheckService()->SetServingStatus("scales.v1.Upscaler", true);
  for (const auto& m : *registry.snapshot())
    std::fprintf(stderr, "model %s x%d%s\n", m->name.c_str(), m->model->info().scale,
                 m->is_default ? " (default)" : "");
  std::fprintf(
      stderr,
      "scales-server listening on %s (port %d), metrics on %s, %d workers x %d threads, kernel %s, backend %s\n",
      listen.c_str(), port, metrics_listen.c_str(), workers, threads, kernel.c_str(), backend_name.c_str());

  for (;;) {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig == SIGHUP) {
      try {
        std::vector<std::string> warnings;
        registry.load(models_dir, warnings);
        for (const auto& w : warnings) std::fprintf(stderr, "warning: skipped model: %s\n", w.c_str());
        std::fprintf(stderr, "reloaded %zu models from %s\n", registry.snapshot()->size(), models_dir.c_str());
        for (const auto& m : *registry.snapshot())
          metrics->set_model_info(m->name, m->model->info().scale, m->model->info().architecture,
                                  m->model->info().variant);
      } catch (const scales::Error& e) {
        std::fprintf(stderr, "error: reload failed, keeping the loaded models: %s\n", e.what());
      }
      continue;
    }
    std::fprintf(stderr, "draining (signal %d): %zu images in flight, grace %d s\n", sig, scheduler.in_flight(), grace);
    service.start_draining();
    server->GetHealthCheckService()->SetServingStatus(false);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(grace));
    server->Wait();
    scheduler.stop();  // its last results are encoded on the I/O pool
    io.stop();
    std::fprintf(stderr, "stopped\n");
    break;
  }
  vips_shutdown();
  return 0;
}
