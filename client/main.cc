// scales-upscale: upscale images with a SCALES-SR model.
//   scales-upscale --local -m models/weights/scales-edsr-x2.safetensors -o OUT INPUT
// Remote mode (through scales-server) arrives with the service.
#include <CLI/CLI.hpp>
#include <vips/vips8>

#include "local_upscale.h"

int main(int argc, char** argv) {
  if (VIPS_INIT(argv[0])) {
    std::fprintf(stderr, "error: cannot initialise libvips\n");
    return 2;
  }
  CLI::App app{"Upscale images with a SCALES-SR binary super-resolution model."};
  scales::client::LocalOptions opt;
  bool local = false;
  app.add_flag("--local", local, "run the engine in this process (the only mode so far)")->required();
  app.add_option("-m,--model", opt.model, "model file (.safetensors)")->required()->check(CLI::ExistingFile);
  app.add_option("-o,--output", opt.output, "output file, or folder (mirrors an input folder's tree)")->required();
  app.add_option("--format", opt.format, "output format for folders and folder outputs")
      ->check(CLI::IsMember({"png", "jpg", "webp", "tif"}));
  app.add_option("--quality", opt.quality, "JPEG/WebP quality")->check(CLI::Range(1, 100));
  app.add_option("--threads", opt.threads, "engine threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--kernel", opt.kernel, "binary conv kernel: auto, ref, avx2, avx512, neon (default: best)");
  app.add_option("--tile", opt.tile, "LR tile side in pixels (0 = automatic, bounded memory)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("input", opt.input, "image file or folder")->required();
  CLI11_PARSE(app, argc, argv);
  const int rc = scales::client::run_local(opt);
  vips_shutdown();
  return rc;
}
