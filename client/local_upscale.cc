#include "local_upscale.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "plan.h"
#include "progress.h"
#include "scales/engine.h"
#include "scales/imageio.h"
#include "scales/row_encoder.h"

namespace fs = std::filesystem;

namespace scales::client {

namespace {

// One file, streamed: the input is held as its 8- or 16-bit samples, and each tile's output is
// rounded into the encoder's rows as the engine finishes it (TileJob::stream_tiles,
// imageio::RowEncoder), and each complete row of tiles encoded into the file,
// so neither the float output nor the encoded file is held whole. The file is written under a
// temporary name and renamed when complete: a failure leaves no partial output behind.
void upscale_file(Engine& engine, const std::shared_ptr<const Model>& model, const FileJob& j, int quality) {
  imageio::DecodedSamples d = imageio::decode_file_samples(j.in.string());
  const int w = d.rgb.width, h = d.rgb.height, scale = model->info().scale;
  fs::create_directories(j.out.parent_path().empty() ? fs::path(".") : j.out.parent_path());
  const fs::path part = j.out.string() + ".part";
  struct RemovePart {  // unless renamed
    const fs::path& p;
    ~RemovePart() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } remove_part{part};
  std::ofstream file(part, std::ios::binary | std::ios::trunc);
  if (!file) throw Error(part.string() + ": cannot create the output file");
  imageio::RowEncoder encoder(w * scale, h * scale, std::move(d.alpha), d.meta, {j.format, quality},
                              [&](const char* bytes, size_t n) {
                                if (!file.write(bytes, static_cast<std::streamsize>(n)))
                                  throw Error(part.string() + ": cannot write (disk full?)");
                              });
  TileJob job(model, std::move(d.rgb), engine.tile_size(*model, w, h));
  job.stream_tiles([&](int x0, int y0, const Image& core) { encoder.push(x0, y0, core); });
  engine.run_to_end(job);
  encoder.finish();
  file.close();
  if (!file) throw Error(part.string() + ": cannot write (disk full?)");
  fs::rename(part, j.out);
}

}  // namespace

int run_local(const Options& opt) {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Engine> engine;
  std::vector<FileJob> jobs;
  try {
    EngineOptions eo{opt.threads, opt.kernel, opt.tile, opt.tile_memory_mb};
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
      upscale_file(*engine, model, j, opt.quality);
      progress.done(j.in.string(), j.out.string(), true);
    } catch (const std::exception& e) {
      progress.done(j.in.string(), j.out.string(), false, e.what());
    }
  }
  return progress.summary() ? 1 : 0;
}

}  // namespace scales::client
