// Encoding an image while it is being produced: rows go in from the top as the engine finishes
// them (TileJob::stream_rows), encoded bytes come out as the format's writer produces them, so
// neither the float output nor the whole encoded file has to be held.
//
// How: the rows are rounded to the output's samples as they are pushed (on the pushing thread)
// and queued; a libvips image whose pixels are generated from that queue is written, on the
// encoder's own thread (started by the first piece), to a target that hands each block of bytes
// to `write`. libvips asks for the rows top to bottom and a queued row is dropped once every
// pixel of it has been read, so what is held is the rows pushed but not yet encoded. PNG and
// JPEG are written row by row; TIFF (libtiff seeks back to write its directory) and WebP
// (libwebp encodes a whole picture) are built in memory before their first byte comes out, so
// those stream only on the engine's side.
//
// The output is the same image, with the same alpha, depth, gray, ICC, EXIF and XMP policy, as
// encode_buffer (imageio.h) of the whole image.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "scales/imageio.h"

namespace scales::imageio {

class RowEncoder {
 public:
  // Encoded bytes, in order, called on the encoder's thread.
  using Write = std::function<void(const char* data, size_t size)>;

  // `width` x `height`: the output's size; alpha (at the input's size: upscaled here) and meta as
  // decode returned them. Throws Error for a size the format cannot hold.
  RowEncoder(int width, int height, Alpha alpha, const Metadata& meta, const EncodeOptions& options, Write write);
  // Abandons an encode that was not finished (the thread is stopped and joined).
  ~RowEncoder();
  RowEncoder(const RowEncoder&) = delete;
  RowEncoder& operator=(const RowEncoder&) = delete;

  // A piece of the output: `piece` goes at output position (x0, y0). Pieces may come in any
  // order and from several threads at once (a tile job's cores, TileJob::stream_tiles); pieces
  // that start on the same row must be equally tall (a row of tiles), and no two may overlap.
  // A row of pieces is encoded once it is complete and every row above it has been. Throws
  // Error for a piece that does not fit or overlaps, or when the encode has failed.
  void push(int x0, int y0, const Image& piece);
  // Whole rows [y0, y0 + rows.height): push(0, y0, rows).
  void push(int y0, const Image& rows) { push(0, y0, rows); }
  // After the last row: waits for the encoder to write its last byte. Throws Error naming the
  // encoder's failure (a failing `write` included).
  void finish();
  // Stops the encode (a cancelled request); finish() then throws.
  void abort();

  // Bytes of rows pushed and not yet encoded (for tests and metrics).
  size_t held_bytes() const;

 private:
  struct Band {
    int y0 = 0, y1 = 0;
    std::vector<uint8_t> samples;            // (y1 - y0) * width * bands samples of 1 or 2 bytes
    std::vector<std::pair<int, int>> spans;  // the columns [x0, x1) of the pieces given
    int covered = 0;                         // columns written (a band is complete at width)
    size_t unread = 0;                       // pixels not yet handed to libvips
  };
  void run();

 public:
  // libvips' generate callback (the region's rows, copied out of the queue); not for callers.
  static int generate_rows(void* region, void* seq, void* self, void* b, int* stop);

 private:
  const int width_, height_;
  const Alpha alpha_;
  const Metadata meta_;
  const EncodeOptions options_;
  Write write_;
  int bands_ = 3;
  size_t sample_bytes_ = 1;
  bool deep_ = false, gray_ = false, one_band_ = false;

  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::map<int, std::unique_ptr<Band>> pending_;  // by first row: bands still being filled, or
                                                  // complete below one that is not
  std::deque<std::unique_ptr<Band>> queue_;       // complete bands in order, for libvips
  int pushed_ = 0;                                // rows complete and queued so far (from the top)
  bool aborted_ = false, ended_ = false;
  std::string error_;  // the encoder's failure, once ended
  size_t held_ = 0;

  std::thread thread_;  // started by the first push, under mu_ (abort() sets aborted_ under mu_
                        // first, so no push starts it after)
};

}  // namespace scales::imageio
