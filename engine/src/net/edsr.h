// SCALES-EDSR forward pass on one whole image (reference path: portable binary kernel, oneDNN
// FP convs). The data path, top to bottom, is forward() in edsr.cc.
#pragma once

#include "model/model_file.h"
#include "scales/engine.h"

namespace scales::net {

Image edsr_forward(const model::EdsrWeights& w, const Image& in);

}  // namespace scales::net
