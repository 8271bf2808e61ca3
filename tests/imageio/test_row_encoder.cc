// The row encoder writes the same image as the whole-image encoder, whatever the row bands and
// the thread that pushes them, and every misuse or failure is an Error, never a hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <vips/vips8>

#include "scales/row_encoder.h"

namespace scales::imageio {
namespace {

Image random_image(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.05f, 1.05f);  // unclamped, like the engine's output
  Image im;
  im.width = w;
  im.height = h;
  im.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (auto& v : im.rgb) v = u(rng);
  return im;
}

Image rows_of(const Image& im, int y0, int y1) {
  Image r;
  r.width = im.width;
  r.height = y1 - y0;
  r.rgb.assign(im.rgb.begin() + static_cast<ptrdiff_t>(y0) * im.width * 3,
               im.rgb.begin() + static_cast<ptrdiff_t>(y1) * im.width * 3);
  return r;
}

// Encodes `im` through a RowEncoder, pushing bands of the given heights (cycled) from another
// thread, and returns the bytes.
std::string encode_in_rows(const Image& im, const Alpha& alpha, const Metadata& meta, const EncodeOptions& o,
                           std::vector<int> heights) {
  std::string bytes;
  RowEncoder enc(im.width, im.height, alpha, meta, o, [&](const char* p, size_t n) { bytes.append(p, n); });
  std::thread producer([&] {
    size_t i = 0;
    for (int y = 0; y < im.height;) {
      const int y1 = std::min(im.height, y + heights[i++ % heights.size()]);
      enc.push(y, rows_of(im, y, y1));
      y = y1;
    }
  });
  producer.join();
  enc.finish();
  return bytes;
}

std::string whole(const Image& im, const Alpha& alpha, const Metadata& meta, const EncodeOptions& o) {
  const auto v = encode_buffer(im, alpha, meta, o);
  return std::string(v.begin(), v.end());
}

TEST(RowEncoder, PngEqualsTheWholeImageEncoder) {
  const Image im = random_image(301, 257, 1);
  const EncodeOptions png{Format::png, 90};
  const std::string want = whole(im, {}, {}, png);
  EXPECT_TRUE(encode_in_rows(im, {}, {}, png, {7, 50, 1, 64}) == want);
  EXPECT_TRUE(encode_in_rows(im, {}, {}, png, {257}) == want);
}

TEST(RowEncoder, SixteenBitGrayWithAlphaAndMetadataEqualsTheWholeImageEncoder) {
  const Image im = random_image(120, 90, 2);
  Alpha alpha;
  alpha.width = 60;
  alpha.height = 45;
  std::mt19937 rng(3);
  for (int i = 0; i < 60 * 45; ++i) alpha.values.push_back(static_cast<float>(rng() % 1000) / 999.0f);
  Metadata meta;
  meta.bits = 16;
  meta.gray = true;
  meta.xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"></x:xmpmeta>";
  for (Format f : {Format::png, Format::tiff, Format::webp, Format::jpeg}) {
    const EncodeOptions o{f, 85};
    const std::string got = encode_in_rows(im, alpha, meta, o, {13, 2}), want = whole(im, alpha, meta, o);
    EXPECT_TRUE(got == want) << extension(f) << ": " << got.size() << " bytes, the whole-image encoder wrote "
                             << want.size();
  }
}

TEST(RowEncoder, TilesInAnyOrderFromSeveralThreadsEqualTheWholeImageEncoder) {
  const Image im = random_image(200, 150, 10);
  const EncodeOptions png{Format::png, 90};
  // A 4 x 3 grid of unequal tiles, pushed bottom-right first, from two threads.
  const std::vector<int> xs = {0, 37, 100, 160, 200}, ys = {0, 64, 65, 150};
  std::vector<std::pair<int, int>> cells;
  for (size_t j = 0; j + 1 < ys.size(); ++j)
    for (size_t i = 0; i + 1 < xs.size(); ++i) cells.emplace_back(static_cast<int>(i), static_cast<int>(j));
  std::reverse(cells.begin(), cells.end());
  std::string bytes;
  RowEncoder enc(200, 150, {}, {}, png, [&](const char* p, size_t n) { bytes.append(p, n); });
  auto push_every_other = [&](size_t first) {
    for (size_t k = first; k < cells.size(); k += 2) {
      const auto [i, j] = cells[k];
      Image piece;
      piece.width = xs[i + 1] - xs[i];
      piece.height = ys[j + 1] - ys[j];
      for (int y = ys[j]; y < ys[j + 1]; ++y)
        piece.rgb.insert(piece.rgb.end(), im.rgb.begin() + (static_cast<ptrdiff_t>(y) * 200 + xs[i]) * 3,
                         im.rgb.begin() + (static_cast<ptrdiff_t>(y) * 200 + xs[i + 1]) * 3);
      enc.push(xs[i], ys[j], piece);
    }
  };
  std::thread other([&] { push_every_other(1); });
  push_every_other(0);
  other.join();
  enc.finish();
  EXPECT_TRUE(bytes == whole(im, {}, {}, png));
}

TEST(RowEncoder, PiecesMustFitAndNotOverlap) {
  const Image im = random_image(40, 30, 4);
  RowEncoder enc(40, 30, {}, {}, {Format::png, 90}, [](const char*, size_t) {});
  enc.push(5, rows_of(im, 5, 10));                                                // waits for rows 0..5
  EXPECT_THROW(enc.push(0, rows_of(im, 0, 10)), Error);                           // overlaps rows 5..10
  EXPECT_THROW(enc.push(7, rows_of(im, 7, 9)), Error);                            // inside rows 5..10
  enc.push(0, rows_of(im, 0, 5));                                                 // rows 0..10 complete
  EXPECT_THROW(enc.push(0, rows_of(im, 0, 5)), Error);                            // already given
  const Image left = rows_of(random_image(20, 30, 5), 10, 20);                    // 20 x 10
  enc.push(0, 10, left);                                                          // left half of rows 10..20
  EXPECT_THROW(enc.push(10, 10, left), Error);                                    // overlaps the left half
  EXPECT_THROW(enc.push(25, 10, left), Error);                                    // past the right edge
  EXPECT_THROW(enc.push(20, 10, rows_of(random_image(20, 30, 6), 0, 5)), Error);  // shorter than its row
  EXPECT_THROW(enc.push(10, rows_of(random_image(40, 40, 6), 0, 25)), Error);     // past the bottom
  EXPECT_THROW(enc.finish(), Error);                                              // rows 10..30 missing
}

TEST(RowEncoder, AFailingWriteIsAnErrorNamingIt) {
  const Image im = random_image(64, 64, 7);
  RowEncoder enc(64, 64, {}, {}, {Format::png, 90}, [](const char*, size_t) { throw std::runtime_error("disk full"); });
  try {
    enc.push(0, im);
    enc.finish();
    FAIL() << "finish() returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos) << e.what();
  }
}

TEST(RowEncoder, AbortWhileLibvipsWaitsForRowsReturns) {
  const Image im = random_image(64, 64, 8);
  RowEncoder enc(64, 64, {}, {}, {Format::png, 90}, [](const char*, size_t) {});
  enc.push(0, rows_of(im, 0, 16));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // libvips is now waiting for row 16
  enc.abort();
  EXPECT_THROW(enc.finish(), Error);
  // and a never-finished encoder's destructor returns too
  RowEncoder dropped(64, 64, {}, {}, {Format::jpeg, 90}, [](const char*, size_t) {});
  dropped.push(0, rows_of(im, 0, 8));
}

int threads_of_this_process() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

// A server builds an encoder per admitted request, long before its first tile is computed: a
// waiting encoder must hold no thread (the server's threads follow the images being computed).
TEST(RowEncoder, HoldsNoThreadUntilTheFirstPiece) {
  const int before = threads_of_this_process();
  ASSERT_GT(before, 0);
  std::vector<std::unique_ptr<RowEncoder>> waiting;
  for (int i = 0; i < 16; ++i)
    waiting.push_back(std::make_unique<RowEncoder>(64, 64, Alpha{}, Metadata{}, EncodeOptions{Format::png, 90},
                                                   [](const char*, size_t) {}));
  EXPECT_EQ(threads_of_this_process(), before);
  // Given its first piece, one starts its thread; the rest are abandoned without ever starting.
  waiting[0]->push(0, rows_of(random_image(64, 16, 9), 0, 16));
  EXPECT_GT(threads_of_this_process(), before);
  waiting[1]->abort();
  EXPECT_THROW(waiting[1]->finish(), Error);
  EXPECT_THROW(waiting[2]->finish(), Error);  // no rows given
  waiting.clear();
}

TEST(RowEncoder, RowsAreDroppedOnceEncoded) {
  const int w = 1024, h = 1024;
  const Image band = random_image(w, 32, 9);
  std::atomic<size_t> written{0};
  RowEncoder enc(w, h, {}, {}, {Format::png, 90}, [&](const char*, size_t n) { written += n; });
  size_t most = 0;
  for (int y = 0; y < h; y += 32) {
    enc.push(y, band);
    // Let the encoder catch up, then see what it still holds.
    for (int i = 0; i < 200 && enc.held_bytes() > 4 * static_cast<size_t>(w) * 32 * 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    most = std::max(most, enc.held_bytes());
  }
  enc.finish();
  EXPECT_GT(written.load(), 0u);
  EXPECT_EQ(enc.held_bytes(), 0u);
  EXPECT_LE(most, 4 * static_cast<size_t>(w) * 32 * 3) << "the encoder held " << most << " bytes of rows";
}

TEST(RowEncoder, FormatsRefuseSizesTheyCannotHold) {
  EXPECT_THROW(RowEncoder(20000, 10, {}, {}, {Format::webp, 90}, [](const char*, size_t) {}), Error);
  EXPECT_THROW(RowEncoder(70000, 10, {}, {}, {Format::jpeg, 90}, [](const char*, size_t) {}), Error);
  EXPECT_THROW(RowEncoder(0, 10, {}, {}, {Format::png, 90}, [](const char*, size_t) {}), Error);
}

}  // namespace
}  // namespace scales::imageio

int main(int argc, char** argv) {
  if (VIPS_INIT(argv[0])) return 1;
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  vips_shutdown();
  return rc;
}
