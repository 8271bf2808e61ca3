#include "config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "memory_budget.h"

namespace scales::server {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

namespace {
bool is_loopback(const std::string& a) {
  return a.starts_with("127.") || a.starts_with("localhost") || a.starts_with("[::1]");
}
}  // namespace

bool Config::loopback() const { return is_loopback(listen); }
bool Config::http_loopback() const { return is_loopback(http_listen); }

int parse_config(int argc, char** argv, Config& c) {
  CLI::App app{"SCALES-SR upscaling service (gRPC, and HTTP with --http-listen)."};
  app.add_option("--listen", c.listen, "gRPC address")->envname("SCALES_LISTEN")->capture_default_str();
  app.add_option("--metrics-listen", c.metrics_listen, "Prometheus /metrics HTTP address")
      ->envname("SCALES_METRICS_LISTEN")
      ->capture_default_str();
  app.add_option("--http-listen", c.http_listen,
                 "HTTP address of the REST API and the web page (HOST:PORT; off when unset); same TLS and tokens as "
                 "gRPC")
      ->envname("SCALES_HTTP_LISTEN");
  app.add_option("--http-threads", c.http_threads,
                 "HTTP handler threads: requests served at once (an upscale holds its thread until answered)")
      ->envname("SCALES_HTTP_THREADS")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--models", c.models_dir, "model directory (*.safetensors; name = file stem)")
      ->envname("SCALES_MODELS")
      ->capture_default_str();
  app.add_option("--workers", c.workers, "engine workers (tile batches run at once)")
      ->envname("SCALES_WORKERS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--threads", c.threads, "engine threads per worker (0 = all cores / workers)")
      ->envname("SCALES_THREADS")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--backend", c.backend,
                 "where models run: auto (a CUDA GPU when this build has the backend and finds one), cpu, cuda")
      ->envname("SCALES_BACKEND")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--fp-precision", c.fp_precision,
                 "FP layers: model (each in the precision its model file records, bf16 or int8, where this CPU runs it "
                 "natively) or fp32 (all in fp32)")
      ->envname("SCALES_FP_PRECISION")
      ->check(CLI::IsMember({"model", "fp32"}))
      ->capture_default_str();
  app.add_option("--device", c.device, "CUDA device index (with --backend cuda/auto)")
      ->envname("SCALES_DEVICE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--io-threads", c.io_threads, "decode/encode threads")
      ->envname("SCALES_IO_THREADS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--max-batch", c.max_batch, "tiles per batch (from any requests)")
      ->envname("SCALES_MAX_BATCH")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--max-delay-us", c.max_delay_us, "how long a tile may wait for its batch to fill, microseconds")
      ->envname("SCALES_MAX_DELAY_US")
      ->check(CLI::Range(0, 10000000))
      ->capture_default_str();
  app.add_option("--quick-pixels", c.quick_pixels,
                 "requests whose input has at most this many pixels go first (the earliest virtual deadline "
                 "first); the others go in arrival order")
      ->envname("SCALES_QUICK_PIXELS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--starvation-ms", c.starvation_ms,
                 "a request that has waited this long (ms) since it arrived goes before all others")
      ->envname("SCALES_STARVATION_MS")
      ->check(CLI::Range(0, 3600 * 1000))
      ->capture_default_str();
  app.add_option("--cpu-batch-mpx", c.cpu_batch_mpx,
                 "a CPU batch stops at this many output megapixels, so a new request waits for a short batch")
      ->envname("SCALES_CPU_BATCH_MPX")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--tile", c.tile, "LR tile side (0 = automatic from the engine's memory budget)")
      ->envname("SCALES_TILE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--tile-memory-mb", c.tile_memory_mb,
                 "working memory of each engine worker, MiB: automatic tiles are sized to fit (part of the server's "
                 "fixed memory, outside --memory-budget)")
      ->envname("SCALES_TILE_MEMORY_MB")
      ->check(CLI::Range(16, 1 << 20))
      ->capture_default_str();
  app.add_option("--max-in-flight", c.max_in_flight, "decoded images in the scheduler before RESOURCE_EXHAUSTED")
      ->envname("SCALES_MAX_IN_FLIGHT")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--max-queue", c.max_queue, "requests waiting to be decoded before RESOURCE_EXHAUSTED")
      ->envname("SCALES_MAX_QUEUE")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--memory-budget", c.memory_budget,
                 "bytes that image requests may hold at once (4G, 512M, ...; auto = 70% of the container's "
                 "memory limit, else of physical memory; 0 = off)")
      ->envname("SCALES_MEMORY_BUDGET")
      ->capture_default_str();
  app.add_option("--max-memory-wait", c.max_memory_wait_s,
                 "seconds a request may wait for memory (or until its deadline) before RESOURCE_EXHAUSTED")
      ->envname("SCALES_MAX_MEMORY_WAIT")
      ->check(CLI::Range(0, 24 * 3600))
      ->capture_default_str();
  app.add_option("--max-pixels", c.max_pixels, "largest input in pixels (checked on the header)")
      ->envname("SCALES_MAX_PIXELS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-side", c.max_side, "largest input width or height")
      ->envname("SCALES_MAX_SIDE")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-message-mb", c.max_message_mb, "largest gRPC message, MiB (both directions)")
      ->envname("SCALES_MAX_MESSAGE_MB")
      ->check(CLI::Range(1, 2047))
      ->capture_default_str();
  app.add_option("--max-upload-mb", c.max_upload_mb, "largest UpscaleStream upload or HTTP request body, MiB")
      ->envname("SCALES_MAX_UPLOAD_MB")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--spool-above-mb", c.spool_above_mb,
                 "UpscaleStream uploads larger than this wait on disk, not in memory, MiB (0 = never)")
      ->envname("SCALES_SPOOL_ABOVE_MB")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-spool-mb", c.max_spool_mb, "all uploads on disk together, MiB; past it RESOURCE_EXHAUSTED")
      ->envname("SCALES_MAX_SPOOL_MB")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--spool-dir", c.spool_dir, "directory for spooled uploads (default: $TMPDIR, else /tmp)")
      ->envname("SCALES_SPOOL_DIR");
  app.add_option("--grace-seconds", c.grace_seconds, "how long SIGTERM waits for in-flight calls")
      ->envname("SCALES_GRACE_SECONDS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate chain: serve TLS (with --tls-key)")
      ->envname("SCALES_TLS_CERT")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", c.tls_key, "PEM private key of --tls-cert")
      ->envname("SCALES_TLS_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", c.tls_client_ca, "PEM CA bundle: require and verify client certificates")
      ->envname("SCALES_TLS_CLIENT_CA")
      ->check(CLI::ExistingFile);
  app.add_option("--auth-tokens", c.tokens_file, "file of accepted bearer tokens, one per line")
      ->envname("SCALES_AUTH_TOKENS")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    std::fprintf(stderr, "error: --tls-cert and --tls-key go together\n");
    return 2;
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    std::fprintf(stderr, "error: --tls-client-ca needs --tls-cert and --tls-key\n");
    return 2;
  }
  if (!c.tokens_file.empty()) {
    std::istringstream lines(read_text(c.tokens_file));
    for (std::string t; std::getline(lines, t);) {
      while (!t.empty() && (t.back() == '\r' || t.back() == ' ')) t.pop_back();
      if (!t.empty() && t[0] != '#') c.tokens.push_back(t);
    }
    if (c.tokens.empty()) {
      std::fprintf(stderr, "error: %s holds no token\n", c.tokens_file.c_str());
      return 2;
    }
  }
  if (c.memory_budget == "auto") {
    c.memory_budget_bytes = default_memory_budget(&c.memory_budget_source);
  } else {
    try {
      c.memory_budget_bytes = parse_bytes(c.memory_budget);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "error: --memory-budget: %s\n", e.what());
      return 2;
    }
    c.memory_budget_source = "--memory-budget";
  }
  if (c.spool_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    c.spool_dir = tmp && *tmp ? tmp : "/tmp";
  }
  // Checked now rather than at the first large upload.
  if (c.spool_above_mb > 0 && ::access(c.spool_dir.c_str(), W_OK | X_OK) != 0) {
    std::fprintf(stderr, "error: spool directory %s is not a writable directory (--spool-dir): %s\n",
                 c.spool_dir.c_str(), std::strerror(errno));
    return 2;
  }
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency() / static_cast<unsigned>(c.workers));
  return -1;
}

}  // namespace scales::server
