#include "footprint.h"

#include <algorithm>

namespace scales::server {

size_t request_footprint(const imageio::Header& h, int scale, size_t upload_bytes) {
  const size_t in_px = static_cast<size_t>(h.width) * static_cast<size_t>(h.height);
  const size_t out_px = in_px * static_cast<size_t>(scale) * static_cast<size_t>(scale);
  const size_t bps = static_cast<size_t>(std::max(1, std::min(2, h.bytes_per_sample)));  // outputs are 8 or 16 bit
  const size_t alpha = h.has_alpha ? 4 * in_px : 0;
  const size_t input = 12 * in_px + alpha;
  const size_t decode =
      static_cast<size_t>(std::max(1, h.bands)) * static_cast<size_t>(h.bytes_per_sample) * in_px * 2 + input;
  const size_t inference = input + 12 * out_px;
  const size_t out_raw = out_px * 4 * bps;                 // RGB or RGBA, 8 or 16 bit
  const size_t gray_mean = h.bands <= 2 ? 4 * out_px : 0;  // gray output: the channels' mean, float
  const size_t encode = input + 12 * out_px + gray_mean + out_raw + 3 * out_raw;
  return upload_bytes + std::max({decode, inference, encode});
}

}  // namespace scales::server
