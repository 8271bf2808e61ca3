// SCALES-EDSR (and its FP twin) as a Network: the layer list comes from the model file.
#pragma once

#include <memory>

#include "model/model_file.h"
#include "net/network.h"

namespace scales::net {

std::unique_ptr<Network> make_edsr(model::EdsrWeights w);
// The weights of an EDSR network (for a device backend to upload); null for other architectures.
const model::EdsrWeights* edsr_weights(const Network& net);

}  // namespace scales::net
