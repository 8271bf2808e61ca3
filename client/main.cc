// scales-upscale: upscale images with a SCALES-SR model, in this process or through scales-server.
//   scales-upscale --local -m models/weights/scales-edsr-x2.safetensors -o OUT INPUT
//   scales-upscale --server localhost:50051 --scale 2 -j 8 -i INPUT -o OUT
//   scales-upscale --server dns:///scales-sr-headless:50051 ...   (round-robin over every address)
//   scales-upscale health --server localhost:50051                 (exit 0 when SERVING)
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <vips/vips8>

#include "health.h"
#include "local_upscale.h"
#include "scales/imageio.h"

int main(int argc, char** argv) {
  CLI::App app{"Upscale images (a file or a folder tree) with a SCALES-SR binary super-resolution model."};
  scales::client::Options opt;
  bool local = false;
  std::string model;
  auto* local_flag = app.add_flag("--local", local, "run the engine in this process (-m is a model file)");
  auto* server_opt = app.add_option("--server", opt.server,
                                    "scales-server target: HOST:PORT, or dns:///NAME:PORT to spread images "
                                    "round-robin over every address of NAME (-m is a model name)");
  local_flag->excludes(server_opt);
  app.add_option("-m,--model", model, "model file (--local) or model name (--server)");
  app.add_option("--scale", opt.scale, "--server: use the server's default model for this scale")
      ->check(CLI::IsMember({2, 3, 4}));
  app.add_option("-i,--input,input", opt.input, "image file or folder");
  app.add_option("-o,--output", opt.output, "output file, or folder (mirrors an input folder's tree)");
  std::string format = "png";
  app.add_option("--format", format, "output format for folders and folder outputs: png, jpg, webp, tif")
      ->capture_default_str();
  app.add_option("--quality", opt.quality, "JPEG/WebP quality")->check(CLI::Range(1, 100));
  app.add_flag("--skip-existing", opt.skip_existing, "leave outputs that already exist");
  app.add_option("--threads", opt.threads, "--local: engine threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--kernel", opt.kernel, "--local: binary conv kernel: auto, ref, avx2, avx512, neon");
  app.add_option("--backend", opt.backend, "--local: where the model runs: cpu, cuda, auto (cuda if a GPU is found)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--fp-precision", opt.fp_precision,
                 "--local: FP layers: model (each in the precision its model file records, bf16 or int8, where this "
                 "CPU runs it natively) or fp32 (all in fp32)")
      ->check(CLI::IsMember({"model", "fp32"}))
      ->capture_default_str();
  app.add_option("--tile", opt.tile, "--local: LR tile side in pixels (0 = automatic, bounded memory)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--tile-memory-mb", opt.tile_memory_mb,
                 "--local: automatic tiles keep the network's working memory under this many MiB")
      ->check(CLI::Range(16, 1 << 20))
      ->capture_default_str();
  app.add_option("-j,--jobs", opt.jobs, "--server: files in flight")->check(CLI::Range(1, 256));
  app.add_option("--deadline", opt.deadline_s, "--server: seconds per image before giving up")
      ->check(CLI::PositiveNumber);
  app.add_option("--retries", opt.retries, "--server: retries while the server is unavailable or full")
      ->check(CLI::Range(0, 20));
  std::string token_file;
  app.add_option("--tls-ca", opt.tls_ca, "--server: PEM roots to verify the server's TLS certificate (enables TLS)")
      ->check(CLI::ExistingFile);
  app.add_option("--token-file", token_file, "--server: file holding the bearer token (else $SCALES_TOKEN)")
      ->check(CLI::ExistingFile);
  scales::client::HealthOptions health;
  auto* health_cmd = app.add_subcommand("health", "ask a server's gRPC health service; exit 0 when SERVING");
  health_cmd->add_option("--server", health.server, "server target (default 127.0.0.1:50051)");
  health_cmd->add_option("--service", health.service, "a service name (default: the whole server)");
  health_cmd->add_option("--tls-ca", health.tls_ca, "PEM roots to verify the server's TLS certificate")
      ->check(CLI::ExistingFile);
  health_cmd->add_option("--timeout", health.timeout_s, "seconds to wait for an answer")->check(CLI::PositiveNumber);
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (health_cmd->parsed()) return scales::client::run_health(health);
  try {
    opt.format = scales::imageio::format_named(format);  // the one place the flag becomes a Format
  } catch (const scales::Error& e) {
    std::fprintf(stderr, "error: --format: %s\n", e.what());
    return 2;
  }
  if (opt.input.empty() || opt.output.empty()) {
    std::fprintf(stderr, "error: give an input (-i FILE_OR_FOLDER) and an output (-o PATH)\n");
    return 2;
  }
  if (!token_file.empty()) {
    std::ifstream f(token_file);
    std::getline(f, opt.token);
    while (!opt.token.empty() && (opt.token.back() == '\r' || opt.token.back() == ' ')) opt.token.pop_back();
  } else if (const char* t = std::getenv("SCALES_TOKEN")) {
    opt.token = t;
  }
  if (!local && opt.server.empty()) {
    std::fprintf(stderr, "error: choose --local (with -m MODEL_FILE) or --server HOST:PORT\n");
    return 2;
  }
  if (local) {
    if (model.empty()) {
      std::fprintf(stderr, "error: --local needs -m MODEL_FILE\n");
      return 2;
    }
    opt.model_file = model;
  } else {
    if (model.empty() && opt.scale == 0) {
      std::fprintf(stderr, "error: --server needs -m MODEL_NAME or --scale S\n");
      return 2;
    }
    opt.model = model;
  }
  if (VIPS_INIT(argv[0])) {
    std::fprintf(stderr, "error: cannot initialise libvips\n");
    return 2;
  }
  const int rc = local ? scales::client::run_local(opt) : scales::client::run_remote(opt);
  vips_shutdown();
  return rc;
}
