#include "model_cards.h"

namespace scales::server {

namespace {

// Size and cost as the engine counted them from the model's weights.
void shape_costs(const ModelInfo& i, scales::v1::ModelInfo* out) {
  out->set_binary_params(i.binary_params);
  out->set_binary_macs_per_pixel(i.binary_macs_per_pixel);
  out->set_fp_params(i.fp_params);
  out->set_fp_macs_per_pixel(i.fp_macs_per_pixel);
}

}  // namespace

void model_cards(const Registry& registry, scales::v1::ListModelsResponse* resp) {
  for (const auto& m : *registry.snapshot()) {
    const ModelInfo& i = m->model->info();
    auto* o = resp->add_models();
    o->set_name(m->name);
    o->set_scale(i.scale);
    o->set_architecture(i.architecture);
    o->set_variant(i.variant);
    o->set_blocks(i.blocks);
    o->set_channels(i.channels);
    o->set_binary(i.binary);
    o->set_is_default(m->is_default);
    for (const auto& s : m->scores) {
      auto* sc = o->add_scores();
      sc->set_set(s.set);
      sc->set_psnr(s.psnr);
      sc->set_ssim(s.ssim);
    }
    shape_costs(i, o);
  }
}

}  // namespace scales::server
