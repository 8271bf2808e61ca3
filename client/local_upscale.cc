#include "local_upscale.h"

#include <filesystem>
#include <iostream>
#include <memory>

#include "plan.h"
#include "progress.h"
#include "scales/engine.h"
#include "scales/imageio.h"

namespace fs = std::filesystem;

namespace scales::client {

int run_local(const Options& opt) {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Engine> engine;
  std::vector<FileJob> jobs;
  try {
    EngineOptions eo{opt.threads, opt.kernel, opt.tile};
    eo.backend = opt.backend;
    eo.fp_precision = opt.fp_precision;
    engine = std::make_unique<Engine>(eo);
    model = Model::load(opt.model_file);
    jobs = plan_jobs(opt.input, opt.output, opt.format);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  std::cerr << "engine: kernel " << engine->kernel() << ", " << engine->threads() << " threads, backend "
            << engine->backend() << "\n";
  Progress progress(jobs.size());
  for (const auto& j : jobs) {
    if (opt.skip_existing && fs::exists(j.out)) {
      progress.done(j.in.string(), j.out.string(), true, "", true);
      continue;
    }
    try {
      const imageio::Decoded d = imageio::decode_file(j.in.string());
      const Image sr = engine->upscale(*model, d.rgb);
      fs::create_directories(j.out.parent_path().empty() ? fs::path(".") : j.out.parent_path());
      imageio::encode_file(sr, d.alpha, d.meta, j.out.string(), {j.format, opt.quality});
      progress.done(j.in.string(), j.out.string(), true);
    } catch (const std::exception& e) {
      progress.done(j.in.string(), j.out.string(), false, e.what());
    }
  }
  return progress.summary() ? 1 : 0;
}

}  // namespace scales::client
