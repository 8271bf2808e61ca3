// A request's reservation (server/footprint.h) counts what its output format holds whole, the
// rows of tiles by the real tile size, and what streaming spares.
#include <gtest/gtest.h>

#include "footprint.h"

namespace scales::server {
namespace {

using imageio::Format;

imageio::Header rgb(int w, int h) {
  imageio::Header hd;
  hd.width = w;
  hd.height = h;
  hd.bands = 3;
  return hd;
}

constexpr size_t MiB = size_t{1} << 20;

TEST(Footprint, WholePictureFormatsCountTheirWholeImage) {
  const auto h = rgb(2048, 2048);
  const size_t raw = size_t{8192} * 8192 * 3;  // x4, 8-bit RGB
  const size_t png = request_footprint(h, 4, 0, Format::png, 256, true);
  EXPECT_EQ(request_footprint(h, 4, 0, Format::jpeg, 256, true), png);
  // Measured with scales-upscale --local at 2048^2 x2 (4096^2 out, raw 48 MiB): TIFF peaked 46 MiB
  // above PNG, WebP 112 MiB above (raw + 4 bytes a pixel = 112 MiB) (docs/service.md: memory).
  EXPECT_EQ(request_footprint(h, 4, 0, Format::tiff, 256, true), png + raw);
  EXPECT_EQ(request_footprint(h, 4, 0, Format::webp, 256, true), png + raw + size_t{8192} * 8192 * 4);
}

TEST(Footprint, RowsFollowTheTileAndNeverPassTheWholeOutput) {
  const auto big = rgb(2048, 2048);
  // 256-pixel LR tiles at x4: three rows of tiles of 1024 output rows each, 8192 wide.
  const size_t tiled = request_footprint(big, 4, 0, Format::png, 256, true);
  const size_t unknown = request_footprint(big, 4, 0, Format::png, 0, true);
  EXPECT_EQ(unknown - tiled, size_t{8192} * 8192 * 3 - size_t{3} * 1024 * 8192 * 3);
  EXPECT_LT(tiled, 160 * MiB);  // 12 MiB of samples, 72 MiB of rows, 64 MiB of stream queue
  // A small image: its whole output is less than three rows of tiles, whatever the tile.
  const auto small = rgb(100, 80);
  EXPECT_EQ(request_footprint(small, 2, 0, Format::png, 64, false),
            request_footprint(small, 2, 0, Format::png, 0, false));
}

TEST(Footprint, StreamingAndSpoolingSpareMemory) {
  const auto h = rgb(4096, 4096);
  const size_t unary = request_footprint(h, 2, 40 * MiB, Format::png, 512, false);
  const size_t streamed = request_footprint(h, 2, 40 * MiB, Format::png, 512, true);
  const size_t spooled = request_footprint(h, 2, 0, Format::png, 512, true);
  const size_t raw = size_t{8192} * 8192 * 3;
  EXPECT_EQ(unary - streamed, 2 * raw - 64 * MiB);  // two encoded copies against the stream queue
  EXPECT_EQ(streamed - spooled, 40 * MiB);          // the upload waits on disk
}

TEST(Footprint, SixteenBitAlphaAndRotationCost) {
  auto h = rgb(1000, 1000);
  const size_t plain = request_footprint(h, 2, 0, Format::png, 0, true);
  h.bytes_per_sample = 2;
  EXPECT_GT(request_footprint(h, 2, 0, Format::png, 0, true), plain);
  h = rgb(1000, 1000);
  h.bands = 4;
  h.has_alpha = true;
  EXPECT_GT(request_footprint(h, 2, 0, Format::png, 0, true), plain + 4 * 1000 * 1000);
  h = rgb(1000, 1000);
  h.rotated = true;  // libvips' whole decoded copy, to rotate
  EXPECT_EQ(request_footprint(h, 2, 0, Format::png, 0, true), plain + 3 * 1000 * 1000);
}

}  // namespace
}  // namespace scales::server
