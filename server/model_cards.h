// The model cards ListModels answers with (proto/scales/v1/upscaler.proto, ModelInfo), built in
// one place for the gRPC adapter and the HTTP front door's GET /v1/models.
#pragma once

#include "registry.h"
#include "scales/v1/upscaler.pb.h"

namespace scales::server {

// One card per served model of the registry's current snapshot, in its order.
void model_cards(const Registry& registry, scales::v1::ListModelsResponse* out);

}  // namespace scales::server
