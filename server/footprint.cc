#include "footprint.h"

#include <algorithm>

namespace scales::server {

size_t request_footprint(const imageio::Header& h, int scale, size_t upload_bytes, imageio::Format format, int tile,
                         bool streamed) {
  const size_t in_px = static_cast<size_t>(h.width) * static_cast<size_t>(h.height);
  // A rotated image's rows are its stored columns: count the longer side as the row.
  const size_t out_w = static_cast<size_t>(h.rotated ? std::max(h.width, h.height) : h.width) * scale;
  const size_t out_px = in_px * static_cast<size_t>(scale) * static_cast<size_t>(scale);
  const size_t b = static_cast<size_t>(std::max(1, std::min(2, h.bytes_per_sample)));  // 8 or 16 bit, as kept
  const size_t input = 3 * b * in_px + (h.has_alpha ? 4 * in_px : 0) +
                       (h.rotated ? static_cast<size_t>(std::max(1, h.bands)) * h.bytes_per_sample * in_px : 0);
  const size_t out_bands = (h.bands - (h.has_alpha ? 1 : 0) <= 1 ? 1 : 3) + (h.has_alpha ? 1 : 0);
  const size_t out_raw = out_bands * b * out_px;
  const size_t tile_rows = static_cast<size_t>(tile > 0 ? tile : 2048) * static_cast<size_t>(scale);
  const size_t rows = std::min(out_raw, 3 * tile_rows * out_w * out_bands * b);
  size_t whole_picture = 0;
  if (format == imageio::Format::tiff) whole_picture = out_raw;
  if (format == imageio::Format::webp) whole_picture = out_raw + 4 * out_px;
  const size_t encoded = streamed ? std::min(out_raw, kMaxStreamQueue) : 2 * out_raw;
  return upload_bytes + input + rows + whole_picture + encoded;
}

}  // namespace scales::server
