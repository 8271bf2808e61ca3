#include "call.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "footprint.h"
#include "metrics.h"
#include "scales/row_encoder.h"
#include "scales/v1/format.h"

namespace scales::server {

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(CallContext& cx, CallRequest req, std::function<void(CallResult)> reply)
      : cx_(cx), req_(std::move(req)), reply_(std::move(reply)) {
    result_.model = req_.options.model();
  }

  // Checks, options, decode, then the scheduler (or the reply, on the first failure).
  void start() {
    const double wait_ms = ms_since(req_.t0);
    // A passed deadline also marks the call cancelled, so it is checked first.
    if (req_.deadline < std::chrono::system_clock::now())
      return fail(Code::deadline_exceeded, "deadline passed while queued");
    if (req_.cancelled()) return fail(Code::cancelled, "cancelled while queued");
    try {
      opt_ = parse_options(req_.options, cx_.registry);
    } catch (const CallError& e) {
      return fail(e.code, e.message);
    }
    result_.model = opt_.model->name;
    imageio::Header header;
    if (!image_step([&] {
          header = req_.upload_fd >= 0
                       ? imageio::probe_descriptor(req_.upload_fd, "image", cx_.limits)
                       : imageio::probe_buffer(req_.bytes.data(), req_.bytes.size(), "image", cx_.limits);
        }))
      return;
    if (!cx_.budget) return decode_and_submit(wait_ms);
    if (cx_.budget->waiting() >= cx_.max_memory_waiters)
      return fail(Code::resource_exhausted,
                  "too many requests waiting for memory (" + std::to_string(cx_.budget->waiting()) + "); retry later");
    // The wait ends at the deadline or after max_memory_wait, whichever is first.
    auto until = MemoryBudget::Clock::now() + cx_.max_memory_wait;
    if (req_.deadline != std::chrono::system_clock::time_point::max())
      until = std::min(until, MemoryBudget::Clock::now() + std::chrono::duration_cast<MemoryBudget::Clock::duration>(
                                                               req_.deadline - std::chrono::system_clock::now()));
    const size_t bytes = request_footprint(
        header, opt_.model->model->info().scale, req_.bytes.size(), opt_.encode.format,
        cx_.scheduler.tile_size(*opt_.model->model, header.width, header.height), static_cast<bool>(req_.stream));
    // Granted at once (the usual case) means granted on this I/O thread, inside acquire(): decode
    // right here. Granted later means on the thread that returned the memory (a gRPC thread, the
    // budget's timer): decode goes back to the I/O pool.
    const std::thread::id caller = std::this_thread::get_id();
    acquiring_ = true;
    cx_.budget->acquire(
        bytes, until, req_.cancelled,
        [self = shared_from_this(), caller](Reservation r) {
          self->result_.memory = std::move(r);
          if (self->acquiring_ && std::this_thread::get_id() == caller)
            self->decode_and_submit(ms_since(self->req_.t0));
          else
            self->cx_.io.post([self] { self->decode_and_submit(ms_since(self->req_.t0)); });
        },
        [self = shared_from_this()](MemoryBudget::Refusal why, const std::string& msg) {
          self->result_.too_large = why == MemoryBudget::Refusal::too_large;
          if (self->cx_.metrics && why != MemoryBudget::Refusal::cancelled)
            self->cx_.metrics->memory_refused(why == MemoryBudget::Refusal::too_large ? "too_large" : "wait_over");
          self->fail(why == MemoryBudget::Refusal::cancelled ? Code::cancelled : Code::resource_exhausted, msg);
        });
    acquiring_ = false;
  }

 private:
  // Runs a step that reads the uploaded image (probe, decode); on its error, replies with the
  // status it maps to (over a limit or out of memory: RESOURCE_EXHAUSTED; otherwise the image is
  // bad: INVALID_ARGUMENT) and returns false.
  template <class F>
  bool image_step(F&& step) {
    try {
      step();
      return true;
    } catch (const imageio::LimitError& e) {
      result_.too_large = true;
      fail(Code::resource_exhausted, e.what());
    } catch (const Error& e) {
      fail(Code::invalid_argument, e.what());
    } catch (const std::bad_alloc&) {
      fail(Code::resource_exhausted, "out of memory reading this image");
    }
    return false;
  }

  // Decode (memory reserved), start the encoder, then hand the image to the scheduler.
  void decode_and_submit(double wait_ms) {
    if (req_.deadline < std::chrono::system_clock::now())
      return fail(Code::deadline_exceeded, "deadline passed while waiting for memory");
    if (req_.cancelled()) return fail(Code::cancelled, "cancelled while waiting for memory");
    imageio::DecodedSamples d;
    const auto td = Clock::now();
    if (!image_step([&] {
          d = req_.upload_fd >= 0
                  ? imageio::decode_descriptor_samples(req_.upload_fd, "image", cx_.limits)
                  : imageio::decode_buffer_samples(req_.bytes.data(), req_.bytes.size(), "image", cx_.limits);
        }))
      return;
    req_.bytes = {};  // decoded: the caller may free the upload
    req_.upload_fd = -1;
    if (req_.release_upload) req_.release_upload();
    const int scale = opt_.model->model->info().scale;
    result_.in_w = d.rgb.width;
    result_.in_h = d.rgb.height;
    result_.out_w = d.rgb.width * scale;
    result_.out_h = d.rgb.height * scale;
    auto& info = result_.info;
    info.mutable_timings()->set_decode_ms(ms_since(td));
    info.mutable_timings()->set_queue_ms(wait_ms);
    info.set_model(opt_.model->name);
    info.set_scale(scale);
    info.set_width(result_.out_w);
    info.set_height(result_.out_h);
    info.set_format(scales::v1::to_proto(opt_.encode.format));
    try {
      encoder_ =
          std::make_shared<imageio::RowEncoder>(result_.out_w, result_.out_h, std::move(d.alpha), d.meta, opt_.encode,
                                                [this](const char* p, size_t n) { take_bytes(p, n); });
    } catch (const Error& e) {
      return fail(Code::invalid_argument, e.what());  // a size the format cannot hold
    }

    Scheduler::Request r;
    r.model = opt_.model->model;
    r.model_name = opt_.model->name;
    r.image = std::move(d.rgb);
    // On an engine worker: the tile's pixels go into the encoder's rows. The job holds the
    // encoder too: a cancelled call's tiles still running push into an aborted encoder (an
    // error the scheduler ignores once the call has ended), never into a freed one.
    r.tiles = [enc = encoder_](int x0, int y0, const Image& core) { enc->push(x0, y0, core); };
    r.cancelled = req_.cancelled;
    r.deadline = req_.deadline;
    r.done = [self = shared_from_this()](Scheduler::Result res, Image, const std::string& err, double queue_s,
                                         double infer_s, int tiles) {
      // On an engine worker: the end of the encode goes back to the I/O pool.
      self->cx_.io.post([self, res, err, queue_s, infer_s, tiles] { self->finish(res, err, queue_s, infer_s, tiles); });
    };
    try {
      if (!cx_.scheduler.submit(std::move(r)))
        return fail(Code::resource_exhausted,
                    "too many images in flight (" + std::to_string(cx_.scheduler.in_flight()) + "); retry later");
    } catch (const Error& e) {
      return fail(Code::invalid_argument, e.what());
    }
    note_queue_depth();
  }

  // The encoder's bytes (its thread; the last ones on the I/O pool after it ended): kept for the
  // reply, or handed on in pieces of about 1 MiB when streaming.
  void take_bytes(const char* p, size_t n) {
    if (!req_.stream) {
      result_.image.append(p, n);
      return;
    }
    encoder_bytes_ += n;
    piece_.append(p, n);
    if (piece_.size() >= kPiece) send_piece();
  }
  void send_piece() {
    req_.stream(sent_any_ ? nullptr : &result_.info, std::move(piece_));
    sent_any_ = true;
    piece_.clear();
  }
  static constexpr size_t kPiece = size_t{1} << 20;

  // The gauge is set where the queue changes: here, when a batch forms (main.cc), and when a
  // call ends (its dropped tiles leave the queue; without this a cancelled call's tiles stayed
  // in the gauge until the next batch).
  void note_queue_depth() {
    if (cx_.metrics)
      cx_.metrics->refresh_queue_depth(
          [this] { return static_cast<double>(cx_.scheduler.waiting_tiles() + cx_.io.queued()); });
  }

  // The scheduler's answer, on the I/O pool: the encoder's last rows, then the reply.
  void finish(Scheduler::Result res, const std::string& err, double queue_s, double infer_s, int tiles) {
    if (res == Scheduler::Result::deadline_exceeded) return fail(Code::deadline_exceeded, err);
    if (res == Scheduler::Result::cancelled) return fail(Code::cancelled, err);
    if (res == Scheduler::Result::failed) return fail(Code::internal, "engine: " + err);
    auto* tm = result_.info.mutable_timings();
    const double wait_ms = tm->queue_ms();
    if (cx_.metrics)
      cx_.metrics->image_done(opt_.model->name, wait_ms / 1000 + queue_s, infer_s, tiles,
                              static_cast<double>(result_.in_w) * result_.in_h);
    const auto t = Clock::now();
    try {
      encoder_->finish();  // the rows encoded during inference; this waits for the last ones
      encoder_.reset();
      if (req_.stream && (!piece_.empty() || !sent_any_)) send_piece();
    } catch (const std::exception& e) {
      return fail(Code::internal, std::string("cannot encode the result: ") + e.what());
    }
    auto& info = result_.info;
    info.set_size_bytes(static_cast<int64_t>(req_.stream ? streamed_bytes() : result_.image.size()));
    tm->set_queue_ms(wait_ms + 1000 * queue_s);
    tm->set_inference_ms(1000 * infer_s);
    tm->set_encode_ms(ms_since(t));  // what encoding added after the last tile
    tm->set_total_ms(ms_since(req_.t0));
    reply_(std::move(result_));  // the reservation goes with the result, to the RPC adapter
    note_queue_depth();
  }
  size_t streamed_bytes() const { return encoder_bytes_; }

  void fail(Code c, std::string msg) {
    if (encoder_) encoder_->abort();  // stops and joins its thread: nothing more is streamed
    encoder_.reset();
    result_.out_w = result_.out_h = 0;  // no output was made (the log says so)
    result_.code = c;
    result_.message = std::move(msg);
    result_.image.clear();
    result_.memory.reset();  // nothing of this call is held any more
    reply_(std::move(result_));
    note_queue_depth();
  }

  CallContext& cx_;
  CallRequest req_;
  std::function<void(CallResult)> reply_;
  CallResult result_;
  CallOptions opt_;
  std::shared_ptr<imageio::RowEncoder> encoder_;  // shared with the tile job (its sink)
  std::string piece_;                             // streaming: bytes not yet handed on
  bool sent_any_ = false;
  size_t encoder_bytes_ = 0;            // streaming: bytes the encoder produced
  std::atomic<bool> acquiring_{false};  // inside budget->acquire() on the starting thread
};

}  // namespace

const char* code_name(Code c) {
  switch (c) {
    case Code::ok: return "OK";
    case Code::cancelled: return "CANCELLED";
    case Code::invalid_argument: return "INVALID_ARGUMENT";
    case Code::deadline_exceeded: return "DEADLINE_EXCEEDED";
    case Code::not_found: return "NOT_FOUND";
    case Code::resource_exhausted: return "RESOURCE_EXHAUSTED";
    case Code::internal: return "INTERNAL";
  }
  return "INTERNAL";
}

CallOptions parse_options(const scales::v1::UpscaleOptions& o, const Registry& registry) {
  CallOptions p;
  const std::optional<imageio::Format> format = scales::v1::from_proto(o.format());
  if (!format) throw CallError{Code::invalid_argument, "unknown output format " + std::to_string(o.format())};
  try {
    p.encode = imageio::encode_options(*format, o.quality() == 0 ? 90 : o.quality());  // 0: unset
  } catch (const Error& e) {
    throw CallError{Code::invalid_argument, e.what()};
  }
  if (o.scale() < 0) throw CallError{Code::invalid_argument, "scale must be positive"};
  try {
    p.model = registry.find(o.model(), o.scale());
  } catch (const Registry::LookupError& e) {
    throw CallError{e.not_found ? Code::not_found : Code::invalid_argument, e.message};
  }
  return p;
}

void start_call(CallContext& cx, CallRequest req, std::function<void(CallResult)> reply) {
  std::make_shared<Call>(cx, std::move(req), std::move(reply))->start();
}

}  // namespace scales::server
