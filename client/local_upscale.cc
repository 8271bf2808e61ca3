#include "local_upscale.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>

#include "scales/engine.h"
#include "scales/imageio.h"

namespace fs = std::filesystem;

namespace scales::client {

namespace {

const std::set<std::string> kImageExts = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct Job {
  fs::path in, out;
};

std::vector<Job> plan(const LocalOptions& opt) {
  const fs::path in(opt.input), out(opt.output);
  std::vector<Job> jobs;
  if (fs::is_directory(in)) {
    for (auto& e : fs::recursive_directory_iterator(in)) {
      if (!e.is_regular_file() || !kImageExts.count(lower(e.path().extension().string()))) continue;
      fs::path rel = fs::relative(e.path(), in);
      rel.replace_extension("." + opt.format);
      jobs.push_back({e.path(), out / rel});
    }
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.in < b.in; });
  } else if (fs::is_regular_file(in)) {
    fs::path target = out;
    if (fs::is_directory(out) || opt.output.ends_with("/")) target = out / (in.stem().string() + "." + opt.format);
    jobs.push_back({in, target});
  } else {
    throw Error(opt.input + ": no such file or folder");
  }
  return jobs;
}

}  // namespace

int run_local(const LocalOptions& opt) {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Engine> engine;
  std::vector<Job> jobs;
  try {
    engine = std::make_unique<Engine>(EngineOptions{opt.threads, opt.kernel, opt.tile});
    model = Model::load(opt.model);
    jobs = plan(opt);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  if (jobs.empty()) {
    std::cerr << "error: " << opt.input << ": no images found\n";
    return 2;
  }
  std::cerr << "engine: kernel " << engine->kernel() << ", " << engine->threads() << " threads\n";
  int failed = 0;
  const size_t total = jobs.size();
  for (size_t i = 0; i < total; ++i) {
    const auto& j = jobs[i];
    try {
      const imageio::Decoded d = imageio::decode_file(j.in.string());
      const Image sr = engine->upscale(*model, d.rgb);
      fs::create_directories(j.out.parent_path().empty() ? fs::path(".") : j.out.parent_path());
      imageio::encode_file(sr, d.alpha, d.rgb.width, d.rgb.height, j.out.string(), opt.quality);
      std::cerr << "[" << i + 1 << "/" << total << "] " << j.in.string() << " -> " << j.out.string() << "\n";
    } catch (const std::exception& e) {
      ++failed;
      std::cerr << "[" << i + 1 << "/" << total << "] error: " << e.what() << "\n";
    }
  }
  if (failed) std::cerr << failed << " of " << total << " images failed\n";
  return failed ? 1 : 0;
}

}  // namespace scales::client
