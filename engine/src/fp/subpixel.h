// The upsampler conv's output channels reordered for a pixel shuffle that copies whole runs.
//
// A conv feeding pixel_shuffle(r) writes channel ch*r*r + s for sub-pixel s = dy*r + dx of channel
// ch. Reordered to s*C + ch, each sub-pixel's C channels are adjacent in the conv's output, which is
// the layout of one output pixel of the shuffled map: the shuffle becomes r*r contiguous copies per
// input pixel instead of a stride-r*r gather.
#pragma once

#include "fp/conv_params.h"

namespace scales::fp {

ConvParams subpixel_major(const ConvParams& c, int r);

}  // namespace scales::fp
