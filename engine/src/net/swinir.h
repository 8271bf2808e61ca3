// SCALES-SwinIR (and its FP twin) as a Network, beside SCALES-EDSR (net/edsr.h).
#pragma once

#include <memory>

#include "model/swinir_file.h"
#include "net/network.h"

namespace scales::net {

std::unique_ptr<Network> make_swinir(model::SwinirWeights w);

}  // namespace scales::net
