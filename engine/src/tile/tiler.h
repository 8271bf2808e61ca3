// Splitting an image into tiles and stitching the upscaled tiles back.
//
// Each tile has a core (the output it owns; cores partition the image) and an input window: the
// core grown by `context` LR pixels on each side and clipped to the image. Clipping, rather than
// padding, is what makes a tile's core equal the whole-image result: at the image border the
// network sees exactly the zero padding it sees on the whole image, and inside the image it sees
// real neighbours out to its receptive radius. (Reflect padding at the image border would give
// outputs the whole-image model never produces; docs/engine.md.)
#pragma once

#include <cstddef>
#include <vector>

namespace scales::tile {

struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // [x0, x1) x [y0, y1)
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

struct Tile {
  Rect core;    // output region, in LR pixels
  Rect window;  // input the network runs on: core + context, clipped
};

// Cores of at most `tile` x `tile` LR pixels, as equal as possible, covering width x height.
// With align > 1 every core and window starts at a multiple of `align` (the context is rounded up
// to one): a windowed-attention network then partitions each tile into the same windows as the
// whole image.
std::vector<Tile> plan_tiles(int width, int height, int tile, int context, int align = 1);

// The automatic tile side: the whole image when its working memory fits `budget_bytes`, else
// the largest square whose window (core + 2 * context) fits; never below 16.
int auto_tile_size(int width, int height, int context, size_t bytes_per_pixel, size_t budget_bytes);

}  // namespace scales::tile
