// One tile task on its way through the tile driver (Engine::run, tile/driver.cc): what the
// network reads, with which statistics plan, and what it produced. TileJob::prepare fills the
// first part, the driver runs the network, TileJob::finish takes the output.
#pragma once

#include "net/network.h"
#include "scales/engine.h"
#include "tile/tiler.h"

namespace scales {

struct TileJob::Work {
  int task = 0;
  enum class Kind { pass1, whole, pass2 } kind = Kind::whole;
  const tile::Tile* tile = nullptr;
  Image window;                  // the tile's input, copied out of the image (not for Kind::whole)
  const Image* input = nullptr;  // what the network reads: &window, or the job's image
  net::StatsPlan plan;
  net::ImageStats mine;  // pass 1: this tile's sums
  Image up;              // the network's output
};

}  // namespace scales
