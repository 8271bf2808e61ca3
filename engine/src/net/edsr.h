// SCALES-EDSR (and its FP twin) as a Network: the layer list comes from the model file.
#pragma once

#include <memory>

#include "model/model_file.h"
#include "net/network.h"

namespace scales::net {

std::unique_ptr<Network> make_edsr(model::EdsrWeights w);

}  // namespace scales::net
