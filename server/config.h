// scales-server's configuration: every flag (and the environment variable named in --help),
// checked once here, with the values derived from them (the accepted tokens, the threads per
// worker). main() only wires the pieces together.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scales::server {

struct Config {
  std::string listen = "0.0.0.0:50051";
  std::string metrics_listen = "0.0.0.0:9090";
  std::string http_listen;  // the HTTP front door (REST and the web page); empty: off
  int http_threads = 64;    // its handler threads: HTTP requests served at once
  std::string models_dir = "models/weights";
  int workers = 1;     // engine workers (each owns an engine)
  int threads = 0;     // engine threads per worker; 0 on the command line = all cores / workers
  int io_threads = 2;  // the I/O pool: decode and encode
  int max_batch = 8;   // tiles per batch
  int max_delay_us = 2000;
  int starvation_ms = 30000;     // a request waiting this long goes before all others
  int64_t quick_pixels = 65536;  // requests with inputs of at most this many pixels go first
  double cpu_batch_mpx = 1.0;    // CPU batches stop at this many output megapixels
  int tile = 0;
  int tile_memory_mb = 256;                     // each engine worker's working memory, automatic tiles sized to fit
  int max_in_flight = 64;                       // images in the scheduler
  int max_queue = 64;                           // requests waiting for the I/O pool (and, separately, for memory)
  std::string memory_budget = "auto";           // bytes ("4G", "512M"), "auto" or "0" (off)
  size_t memory_budget_bytes = 0;               // derived: 0 = off
  std::string memory_budget_source;             // derived: what "auto" took its size from
  int max_memory_wait_s = 30;                   // the longest a request waits for memory (or its deadline)
  int64_t max_pixels = int64_t{16384} * 16384;  // streaming holds the input as samples, the output never whole
  int max_side = 16384;
  int max_message_mb = 64;
  int max_upload_mb = 1024;
  int spool_above_mb = 64;  // an UpscaleStream upload larger than this waits on disk (upload.h); 0: never
  int max_spool_mb = 3072;  // all spooled uploads together
  std::string spool_dir;    // where; empty on the command line: $TMPDIR, else /tmp
  int grace_seconds = 30;
  std::string backend = "auto";
  std::string fp_precision = "model";  // EngineOptions::fp_precision
  int device = 0;
  std::string tls_cert, tls_key, tls_client_ca;  // PEM file paths; empty: no TLS
  std::string tokens_file;
  std::vector<std::string> tokens;  // read from tokens_file: one per line, '#' comments

  bool loopback() const;       // listen is a loopback address
  bool http_loopback() const;  // http_listen is
};

// Parses the command line and the environment into `c`. Returns -1 to go on, else the exit code:
// 0 after --help, CLI11's code for a malformed flag, 2 for a bad combination (TLS) or a tokens
// file without a token; the reason is on stderr.
int parse_config(int argc, char** argv, Config& c);

// A whole text file (PEM files, the tokens file); "" if it cannot be read.
std::string read_text(const std::string& path);

}  // namespace scales::server
