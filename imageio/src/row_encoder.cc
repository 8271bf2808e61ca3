// RowEncoder (row_encoder.h): a libvips image generated from a queue of pushed rows, written to
// a custom target on the encoder's own thread.
//
// Threads: push() runs on the producer's thread (an engine worker), generate() on libvips'
// worker threads, run() on the encoder's thread; mu_ guards the queue and the flags. generate()
// waits until the rows it is asked for are complete (or the encode is abandoned); libvips asks
// top to bottom, so at most a few strips of rows wait. Pieces fill bands (one per row of tiles)
// in pending_; a band moves to queue_, libvips' side, once it and every band above it is full.
#include "scales/row_encoder.h"

#include <cctype>
#include <cstring>
#include <vips/vips8>

#include "output.h"

namespace scales::imageio {

namespace {

// libvips' callbacks, forwarding to the encoder.
int generate_cb(VipsRegion* out, void* seq, void* a, void* b, gboolean* stop) {
  return RowEncoder::generate_rows(out, seq, a, b, stop);
}

struct Finished {};  // run()'s early way out, after a whole-file write

struct WriteContext {
  RowEncoder::Write* write;
  std::string* error;
};
gint64 write_cb(VipsTargetCustom*, const void* data, gint64 length, void* user) {
  auto* cx = static_cast<WriteContext*>(user);
  try {
    (*cx->write)(static_cast<const char*>(data), static_cast<size_t>(length));
    return length;
  } catch (const std::exception& e) {
    if (cx->error->empty()) *cx->error = std::string("writing the output failed: ") + e.what();
    return -1;
  }
}

}  // namespace

RowEncoder::RowEncoder(int width, int height, Alpha alpha, const Metadata& meta, const EncodeOptions& options,
                       Write write)
    : width_(width),
      height_(height),
      alpha_(std::move(alpha)),
      meta_(meta),
      options_(options),
      write_(std::move(write)) {
  if (width <= 0 || height <= 0)
    throw Error("cannot encode an image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels");
  if (options.format == Format::webp && std::max(width, height) > 16383)
    throw Error("WebP holds at most 16383 pixels a side; this output is " + std::to_string(width) + "x" +
                std::to_string(height) + " (use PNG, JPEG or TIFF)");
  if (options.format == Format::jpeg && std::max(width, height) > 65535)
    throw Error("JPEG holds at most 65535 pixels a side; this output is " + std::to_string(width) + "x" +
                std::to_string(height) + " (use PNG or TIFF)");
  const detail::OutputLayout l = detail::output_layout(meta, options.format);
  bands_ = l.bands();
  sample_bytes_ = l.sample_bytes();
  deep_ = l.deep;
  gray_ = l.gray;
  one_band_ = l.one_band;
  // The encoder's thread (and the libvips workers its save holds) starts with the first piece,
  // not here: a request waiting in the scheduler's queue holds no threads, so the server's thread
  // count follows the images being computed, not the images admitted.
}

RowEncoder::~RowEncoder() {
  if (thread_.joinable()) abort();
}

void RowEncoder::push(int x0, int y0, const Image& piece) {
  const int w = piece.width, h = piece.height;
  if (w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0 + w > width_ || y0 + h > height_ ||
      piece.rgb.size() != static_cast<size_t>(w) * h * 3)
    throw Error("a piece of " + std::to_string(w) + "x" + std::to_string(h) + " at (" + std::to_string(x0) + ", " +
                std::to_string(y0) + ") does not fit a " + std::to_string(width_) + "x" + std::to_string(height_) +
                " output");
  const size_t pixel_bytes = bands_ * sample_bytes_;
  Band* band = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!error_.empty()) throw Error("cannot encode " + std::string(extension(options_.format)) + ": " + error_);
    if (aborted_) throw Error("the encode was abandoned");
    if (y0 < pushed_)
      throw Error("rows " + std::to_string(y0) + ".." + std::to_string(y0 + h) + " overlap rows already given");
    auto it = pending_.find(y0);
    if (it == pending_.end()) {
      // A new band: it must not overlap the pending bands above or below it.
      auto below = pending_.upper_bound(y0);
      if ((below != pending_.end() && below->first < y0 + h) ||
          (below != pending_.begin() && std::prev(below)->second->y1 > y0))
        throw Error("rows " + std::to_string(y0) + ".." + std::to_string(y0 + h) + " overlap another row of pieces");
      auto b = std::make_unique<Band>();
      b->y0 = y0;
      b->y1 = y0 + h;
      b->samples.resize(static_cast<size_t>(width_) * h * pixel_bytes);
      b->unread = static_cast<size_t>(width_) * h;
      held_ += b->samples.size();
      it = pending_.emplace(y0, std::move(b)).first;
    } else if (it->second->y1 != y0 + h) {
      throw Error("a piece starting at row " + std::to_string(y0) + " is " + std::to_string(h) +
                  " rows tall, the others there " + std::to_string(it->second->y1 - y0));
    }
    band = it->second.get();
    for (const auto& [a, b] : band->spans)
      if (x0 < b && a < x0 + w)
        throw Error("a piece at (" + std::to_string(x0) + ", " + std::to_string(y0) + ") overlaps another");
    band->spans.emplace_back(x0, x0 + w);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });  // the first piece
  }
  // Rounded into the band outside the lock: pieces are disjoint, and the band cannot leave
  // pending_ before this piece is counted below.
  detail::OutputLayout l;
  l.deep = deep_;
  l.gray = gray_;
  l.one_band = one_band_;
  for (int y = 0; y < h; ++y)
    detail::quantize_pixels(
        piece.rgb.data() + static_cast<size_t>(y) * w * 3, static_cast<size_t>(w), l,
        static_cast<void*>(band->samples.data() + (static_cast<size_t>(y) * width_ + x0) * pixel_bytes));
  std::lock_guard<std::mutex> lk(mu_);
  band->covered += w;
  // Every complete band directly below the rows given so far goes to libvips' queue.
  bool moved = false;
  for (auto it = pending_.begin(); it != pending_.end() && it->first == pushed_ && it->second->covered == width_;
       it = pending_.begin()) {
    pushed_ = it->second->y1;
    queue_.push_back(std::move(it->second));
    pending_.erase(it);
    moved = true;
  }
  if (moved) cv_.notify_all();
}

int RowEncoder::generate_rows(void* region, void*, void* self_ptr, void*, int*) {
  auto* self = static_cast<RowEncoder*>(self_ptr);
  auto* out = static_cast<VipsRegion*>(region);
  const VipsRect r = out->valid;
  const size_t pixel_bytes = self->bands_ * self->sample_bytes_;
  std::unique_lock<std::mutex> lk(self->mu_);
  self->cv_.wait(lk, [&] { return self->aborted_ || self->pushed_ >= r.top + r.height; });
  if (self->aborted_) {
    vips_error("RowEncoder", "%s", "the encode was abandoned");
    return -1;
  }
  for (int y = r.top; y < r.top + r.height; ++y) {
    Band* band = nullptr;
    for (auto& b : self->queue_)
      if (y >= b->y0 && y < b->y1) band = b.get();
    if (!band) {  // dropped: libvips read this row before (it does not, in a sequential save)
      vips_error("RowEncoder", "row %d was read twice", y);
      return -1;
    }
    const size_t at = (static_cast<size_t>(y - band->y0) * self->width_ + r.left) * pixel_bytes;
    std::memcpy(VIPS_REGION_ADDR(out, r.left, y), band->samples.data() + at, r.width * pixel_bytes);
    band->unread -= static_cast<size_t>(r.width);
  }
  while (!self->queue_.empty() && self->queue_.front()->unread == 0) {
    self->held_ -= self->queue_.front()->samples.size();
    self->queue_.pop_front();
  }
  return 0;
}

void RowEncoder::run() {
  std::string failure;
  try {
    VipsImage* src = vips_image_new();
    vips_image_init_fields(src, width_, height_, bands_, deep_ ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR,
                           VIPS_CODING_NONE, VIPS_INTERPRETATION_MULTIBAND, 1.0, 1.0);
    // Rows in order, whole rows at a time: what a sequential saver asks for anyway.
    vips_image_pipelinev(src, VIPS_DEMAND_STYLE_THINSTRIP, nullptr);
    if (vips_image_generate(src, nullptr, generate_cb, nullptr, this, nullptr)) {
      g_object_unref(src);
      throw vips::VError();
    }
    const vips::VImage out = detail::dress_output(vips::VImage(src), alpha_, meta_);
    if (options_.format == Format::tiff) {
      // libtiff seeks back to write the directory offsets, which a stream cannot: the file is
      // built in memory (the rows still arrive from the queue) and written out at the end.
      void* buf = nullptr;
      size_t n = 0;
      out.write_to_buffer(".tif", &buf, &n);
      try {
        write_(static_cast<const char*>(buf), n);
      } catch (const std::exception& e) {
        failure = std::string("writing the output failed: ") + e.what();
      }
      g_free(buf);
      throw Finished{};
    }
    WriteContext cx{&write_, &failure};
    VipsTargetCustom* custom = vips_target_custom_new();
    g_signal_connect(custom, "write", G_CALLBACK(write_cb), &cx);
    const vips::VTarget target(VIPS_TARGET(custom));  // takes the reference
    const std::string suffix = std::string(".") + extension(options_.format);
    if (options_.format == Format::jpeg || options_.format == Format::webp)
      out.write_to_target(suffix.c_str(), target, vips::VImage::option()->set("Q", options_.quality));
    else
      out.write_to_target(suffix.c_str(), target);
  } catch (const Finished&) {
  } catch (const vips::VError& e) {
    if (failure.empty()) failure = e.what();
    if (failure.empty()) failure = "libvips failed without a message";
  } catch (const std::exception& e) {
    if (failure.empty()) failure = e.what();
  }
  vips_error_clear();
  std::lock_guard<std::mutex> lk(mu_);
  ended_ = true;
  if (!failure.empty()) error_ = failure;
  while (!error_.empty() && std::isspace(static_cast<unsigned char>(error_.back()))) error_.pop_back();
  cv_.notify_all();
}

void RowEncoder::finish() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (pushed_ < height_ && !aborted_ && error_.empty())
      throw Error("only " + std::to_string(pushed_) + " of " + std::to_string(height_) + " rows were given");
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lk(mu_);
  if (aborted_) throw Error("the encode was abandoned");
  if (!error_.empty()) throw Error("cannot encode " + std::string(extension(options_.format)) + ": " + error_);
}

void RowEncoder::abort() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    aborted_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

size_t RowEncoder::held_bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return held_;
}

}  // namespace scales::imageio
