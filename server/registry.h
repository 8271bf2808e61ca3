// The model repository: every *.safetensors file of a directory, loaded at start and again on
// reload (SIGHUP). A model's name is its file stem; the default model of a scale is the one named
// "scales-edsr-x<scale>" when present, else the first by name. Lookups take a snapshot, so a
// reload never pulls a model from under a running request.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scales/engine.h"

namespace scales::server {

struct ServedModel {
  std::string name, path;
  std::shared_ptr<const Model> model;
  bool is_default = false;
  struct Score {
    std::string set;
    double psnr = 0, ssim = 0;
  };
  std::vector<Score> scores;  // from <stem>.eval.json beside the model, if any
};

class Registry {
 public:
  using Snapshot = std::shared_ptr<const std::vector<std::shared_ptr<const ServedModel>>>;

  // Loads the directory; throws scales::Error when it holds no loadable model. Files that fail to
  // load are reported in `warnings` and skipped.
  void load(const std::string& dir, std::vector<std::string>& warnings);
  // Serves exactly these models (load() ends here; the request fuzzer serves a synthetic one),
  // choosing each scale's default.
  void serve(std::vector<std::shared_ptr<ServedModel>> models);
  Snapshot snapshot() const;

  // Resolves a request's model name and/or scale; throws LookupError.
  struct LookupError {
    bool not_found;  // NOT_FOUND (unknown name) vs INVALID_ARGUMENT (bad scale)
    std::string message;
  };
  std::shared_ptr<const ServedModel> find(const std::string& name, int scale) const;

 private:
  mutable std::mutex mu_;
  Snapshot models_ = std::make_shared<const std::vector<std::shared_ptr<const ServedModel>>>();
};

}  // namespace scales::server
