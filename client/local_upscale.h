// `scales-upscale --local`: upscale a file or a folder tree in-process with the engine.
#pragma once

#include <string>

#include "scales/imageio.h"

namespace scales::client {

// Options of both modes (main.cc fills them from the command line).
struct Options {
  std::string input;                              // image file or folder (searched recursively)
  std::string output;                             // file (single input) or folder (mirrors the input tree)
  imageio::Format format = imageio::Format::png;  // for folder outputs (a file output: its extension)
  int quality = 90;                               // JPEG/WebP, 1..100 (checked by the flag)
  bool skip_existing = false;
  // local mode
  std::string model_file;
  int threads = 0;                     // engine threads, 0 = all cores
  std::string kernel;                  // binary kernel variant, "" = best (or SCALES_KERNEL)
  std::string backend = "cpu";         // --local: cpu, cuda or auto (EngineOptions::backend)
  int tile = 0;                        // LR tile side, 0 = automatic
  size_t tile_memory_mb = 256;         // automatic tiles' working memory (as scales-server's default)
  std::string fp_precision = "model";  // EngineOptions::fp_precision
  // remote mode
  std::string server;  // host:port
  std::string model;   // model name, or
  int scale = 0;       // a scale served by a default model
  int jobs = 4;        // files in flight
  double deadline_s = 300;
  int retries = 4;     // on UNAVAILABLE / RESOURCE_EXHAUSTED, with exponential backoff
  std::string tls_ca;  // PEM file: connect with TLS, trusting these roots
  std::string token;   // bearer token (from --token-file or SCALES_TOKEN)
};

// Both return the process exit code: 0 when every image was written (or skipped), 1 if any
// failed (each failure is reported and the others still run), 2 for unusable options.
int run_local(const Options& opt);
int run_remote(const Options& opt);

}  // namespace scales::client
