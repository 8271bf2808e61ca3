// Public API glue: Model loading and whole-image upscale.
#include <fstream>
#include <iterator>

#include "model/model_file.h"
#include "net/edsr.h"
#include "scales/engine.h"

namespace scales {

namespace {

class EdsrModel final : public Model {
 public:
  explicit EdsrModel(model::EdsrWeights w) : w_(std::move(w)) {}
  const ModelInfo& info() const override { return w_.info; }
  const model::EdsrWeights& weights() const { return w_; }

 private:
  model::EdsrWeights w_;
};

}  // namespace

std::shared_ptr<const Model> Model::load_from_memory(const std::vector<uint8_t>& bytes, const std::string& name) {
  return std::make_shared<EdsrModel>(model::read_model_file(bytes, name));
}

std::shared_ptr<const Model> Model::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open model file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return load_from_memory(bytes, path);
}

Image upscale(const Model& m, const Image& in) {
  if (in.width <= 0 || in.height <= 0) throw Error("image has no pixels");
  if (in.rgb.size() != static_cast<size_t>(in.width) * in.height * 3)
    throw Error("image buffer holds " + std::to_string(in.rgb.size()) + " floats, expected width*height*3 = " +
                std::to_string(static_cast<size_t>(in.width) * in.height * 3));
  const auto* edsr = dynamic_cast<const EdsrModel*>(&m);
  if (!edsr) throw Error("model is not a SCALES-EDSR model");
  return net::edsr_forward(edsr->weights(), in);
}

}  // namespace scales
