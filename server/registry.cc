#include "registry.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace scales::server {

namespace {
std::vector<ServedModel::Score> read_scores(const fs::path& eval_json) {
  std::vector<ServedModel::Score> out;
  std::ifstream f(eval_json);
  if (!f) return out;
  const auto j = nlohmann::json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.contains("sets")) return out;
  for (const char* set : {"Set5", "Set14", "B100"})
    if (j["sets"].contains(set))
      out.push_back({set, j["sets"][set].value("psnr", 0.0), j["sets"][set].value("ssim", 0.0)});
  return out;
}
}  // namespace

void Registry::load(const std::string& dir, std::vector<std::string>& warnings) {
  if (!fs::is_directory(dir)) throw Error("model directory '" + dir + "' does not exist");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::shared_ptr<ServedModel>> list;
  for (const auto& p : files) {
    auto m = std::make_shared<ServedModel>();
    m->name = p.stem().string();
    m->path = p.string();
    try {
      m->model = Model::load(p.string());
    } catch (const Error& e) {
      warnings.push_back(e.what());
      continue;
    }
    fs::path eval = p;
    eval.replace_extension(".eval.json");
    m->scores = read_scores(eval);
    list.push_back(std::move(m));
  }
  if (list.empty()) throw Error("model directory '" + dir + "' holds no loadable *.safetensors model");
  serve(std::move(list));
}

void Registry::serve(std::vector<std::shared_ptr<ServedModel>> models) {
  std::map<int, size_t> default_of;  // scale -> index
  for (size_t i = 0; i < models.size(); ++i) {
    models[i]->is_default = false;
    const int s = models[i]->model->info().scale;
    const bool preferred = models[i]->name == "scales-edsr-x" + std::to_string(s);
    if (!default_of.count(s) || preferred) default_of[s] = i;
  }
  for (auto [s, i] : default_of) models[i]->is_default = true;
  auto list = std::make_shared<std::vector<std::shared_ptr<const ServedModel>>>(models.begin(), models.end());
  std::lock_guard<std::mutex> lk(mu_);
  models_ = std::move(list);
}

Registry::Snapshot Registry::snapshot() const {
  std::lock_guard<std::mutex> lk(mu_);
  return models_;
}

std::shared_ptr<const ServedModel> Registry::find(const std::string& name, int scale) const {
  const auto models = snapshot();
  if (!name.empty()) {
    for (const auto& m : *models)
      if (m->name == name) {
        if (scale != 0 && scale != m->model->info().scale)
          throw LookupError{false, "model '" + name + "' upscales x" + std::to_string(m->model->info().scale) +
                                       ", not x" + std::to_string(scale)};
        return m;
      }
    std::string names;
    for (const auto& m : *models) names += (names.empty() ? "" : ", ") + m->name;
    throw LookupError{true, "no model named '" + name + "' (served: " + names + ")"};
  }
  if (scale == 0) throw LookupError{false, "give a model name or a scale"};
  for (const auto& m : *models)
    if (m->is_default && m->model->info().scale == scale) return m;
  std::string scales;
  for (const auto& m : *models)
    if (m->is_default) scales += (scales.empty() ? "x" : ", x") + std::to_string(m->model->info().scale);
  throw LookupError{false, "no model upscales x" + std::to_string(scale) + " (served scales: " + scales + ")"};
}

}  // namespace scales::server
