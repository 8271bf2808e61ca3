#include "tile/tiler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace scales::tile {

namespace {
// Splits [0, n) into ceil(n / tile) nearly equal parts of whole align-blocks (the last block may
// be partial): every cut is a multiple of align and no part is longer than tile.
std::vector<int> cuts(int n, int tile, int align) {
  tile = std::max(align, tile / align * align);
  const int parts = (n + tile - 1) / tile, blocks = (n + align - 1) / align;
  std::vector<int> c(parts + 1);
  for (int i = 0; i <= parts; ++i)
    c[i] = std::min(n, static_cast<int>(static_cast<long long>(blocks) * i / parts) * align);
  return c;
}
}  // namespace

std::vector<Tile> plan_tiles(int width, int height, int tile, int context, int align) {
  std::vector<Tile> tiles;
  align = std::max(1, align);
  context = (context + align - 1) / align * align;
  const auto xs = cuts(width, tile, align), ys = cuts(height, tile, align);
  for (size_t j = 0; j + 1 < ys.size(); ++j)
    for (size_t i = 0; i + 1 < xs.size(); ++i) {
      Tile t;
      t.core = {xs[i], ys[j], xs[i + 1], ys[j + 1]};
      t.window = {std::max(0, t.core.x0 - context), std::max(0, t.core.y0 - context),
                  std::min(width, t.core.x1 + context), std::min(height, t.core.y1 + context)};
      tiles.push_back(t);
    }
  return tiles;
}

int auto_tile_size(int width, int height, int context, size_t bytes_per_pixel, size_t budget_bytes) {
  // A whole image needs no context: one tile whenever it fits.
  if (static_cast<double>(width) * height * bytes_per_pixel <= static_cast<double>(budget_bytes))
    return std::max(width, height);
  const double window = std::sqrt(static_cast<double>(budget_bytes) / static_cast<double>(bytes_per_pixel));
  const int side = std::max(16, static_cast<int>(window) - 2 * context);
  return std::min(side, std::max(width, height));
}

}  // namespace scales::tile
