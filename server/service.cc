#include "service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "scales/v1/format.h"

namespace scales::server {

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    default: return "INTERNAL";
  }
}

// One structured log line per request.
void log_request(const std::string& rpc, const std::string& model, int in_w, int in_h, int out_w, int out_h,
                 const grpc::Status& st, double ms) {
  nlohmann::json j = {{"rpc", rpc},
                      {"model", model},
                      {"in", std::to_string(in_w) + "x" + std::to_string(in_h)},
                      {"out", std::to_string(out_w) + "x" + std::to_string(out_h)},
                      {"status", st.error_code()},
                      {"ms", ms}};
  if (!st.ok()) j["error"] = st.error_message();
  std::fprintf(stderr, "%s\n", j.dump().c_str());
}

// Size and cost as the engine counted them from the model's weights.
void shape_costs(const ModelInfo& i, scales::v1::ModelInfo* out) {
  out->set_binary_params(i.binary_params);
  out->set_binary_macs_per_pixel(i.binary_macs_per_pixel);
  out->set_fp_params(i.fp_params);
  out->set_fp_macs_per_pixel(i.fp_macs_per_pixel);
}

}  // namespace

void UpscalerService::process(const std::string& bytes, const scales::v1::UpscaleOptions& o, Clock::time_point t0,
                              std::chrono::system_clock::time_point deadline, std::function<bool()> cancelled,
                              std::function<void(Outcome)> reply) {
  Outcome out;
  out.model = o.model();
  const double wait_ms = ms_since(t0);
  auto fail = [&](grpc::StatusCode c, const std::string& msg) {
    out.status = grpc::Status(c, msg);
    reply(std::move(out));
  };
  // A passed deadline also marks the call cancelled, so it is checked first.
  if (deadline < std::chrono::system_clock::now())
    return fail(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed while queued");
  if (cancelled()) return fail(grpc::StatusCode::CANCELLED, "cancelled while queued");
  // The output options, parsed once into what the codec takes.
  const std::optional<imageio::Format> format = scales::v1::from_proto(o.format());
  if (!format) return fail(grpc::StatusCode::INVALID_ARGUMENT, "unknown output format " + std::to_string(o.format()));
  imageio::EncodeOptions encode;
  try {
    encode = imageio::encode_options(*format, o.quality() == 0 ? 90 : o.quality());  // 0: unset
  } catch (const Error& e) {
    return fail(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  if (o.scale() < 0) return fail(grpc::StatusCode::INVALID_ARGUMENT, "scale must be positive");
  std::shared_ptr<const ServedModel> m;
  try {
    m = registry_.find(o.model(), o.scale());
  } catch (const Registry::LookupError& e) {
    return fail(e.not_found ? grpc::StatusCode::NOT_FOUND : grpc::StatusCode::INVALID_ARGUMENT, e.message);
  }
  out.model = m->name;
  imageio::Decoded d;
  const auto td = Clock::now();
  try {
    d = imageio::decode_buffer(bytes.data(), bytes.size(), "image", limits_.image);
  } catch (const imageio::LimitError& e) {
    return fail(grpc::StatusCode::RESOURCE_EXHAUSTED, e.what());
  } catch (const Error& e) {
    return fail(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  } catch (const std::bad_alloc&) {
    return fail(grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory decoding this image");
  }
  out.in_w = d.rgb.width;
  out.in_h = d.rgb.height;
  out.info.mutable_timings()->set_decode_ms(ms_since(td));

  // The engine part goes to the tile scheduler; its answer comes back on an engine worker and
  // is encoded on this pool.
  Scheduler::Request r;
  r.model = m->model;
  r.model_name = m->name;
  r.image = std::move(d.rgb);
  r.cancelled = cancelled;
  r.deadline = deadline;
  auto alpha = std::make_shared<std::vector<uint8_t>>(std::move(d.alpha));
  r.done = [this, base = out, m, alpha, encode, t0, wait_ms, reply](
               Scheduler::Result res, Image img, const std::string& err, double queue_s, double infer_s, int tiles) {
    io_.post([this, base, m, alpha, encode, t0, wait_ms, reply, res, img = std::move(img), err, queue_s, infer_s,
              tiles]() mutable {
      Outcome o = std::move(base);
      if (res == Scheduler::Result::deadline_exceeded)
        o.status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, err);
      if (res == Scheduler::Result::cancelled) o.status = grpc::Status(grpc::StatusCode::CANCELLED, err);
      if (res == Scheduler::Result::failed) o.status = grpc::Status(grpc::StatusCode::INTERNAL, "engine: " + err);
      if (res != Scheduler::Result::ok) return reply(std::move(o));
      metrics_.image_done(m->name, wait_ms / 1000 + queue_s, infer_s, tiles, static_cast<double>(o.in_w) * o.in_h);
      o.out_w = img.width;
      o.out_h = img.height;
      try {
        const auto t = Clock::now();
        const auto encoded = imageio::encode_buffer(img, *alpha, o.in_w, o.in_h, encode);
        o.image.assign(encoded.begin(), encoded.end());
        auto& info = o.info;
        info.set_model(m->name);
        info.set_scale(m->model->info().scale);
        info.set_width(img.width);
        info.set_height(img.height);
        info.set_format(scales::v1::to_proto(encode.format));
        info.set_size_bytes(static_cast<int64_t>(o.image.size()));
        auto* tm = info.mutable_timings();
        tm->set_queue_ms(wait_ms + 1000 * queue_s);
        tm->set_inference_ms(1000 * infer_s);
        tm->set_encode_ms(ms_since(t));
        tm->set_total_ms(ms_since(t0));
        o.status = grpc::Status::OK;
      } catch (const std::exception& e) {
        o.status = grpc::Status(grpc::StatusCode::INTERNAL, std::string("cannot encode the result: ") + e.what());
      }
      reply(std::move(o));
    });
  };
  try {
    if (!scheduler_.submit(std::move(r)))
      return fail(grpc::StatusCode::RESOURCE_EXHAUSTED,
                  "too many images in flight (" + std::to_string(scheduler_.in_flight()) + "); retry later");
  } catch (const Error& e) {
    return fail(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  metrics_.set_queue_depth(static_cast<double>(scheduler_.waiting_tiles() + io_.queued()));
}

grpc::Status UpscalerService::authorize(const grpc::CallbackServerContext* ctx) const {
  if (tokens_.empty()) return grpc::Status::OK;
  const auto& md = ctx->client_metadata();
  const auto it = md.find("authorization");
  if (it == md.end())
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this server needs 'authorization: Bearer <token>' metadata");
  const std::string value(it->second.data(), it->second.size());
  if (!value.starts_with("Bearer "))
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "authorization metadata must be 'Bearer <token>'");
  const std::string token = value.substr(7);
  for (const auto& t : tokens_)
    if (t == token) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "bearer token not accepted");
}

void UpscalerService::record(const char* rpc, const Outcome& o, Clock::time_point t0) {
  const double ms = ms_since(t0);
  log_request(rpc, o.model, o.in_w, o.in_h, o.out_w, o.out_h, o.status, ms);
  metrics_.request_done(o.model, code_name(o.status.error_code()), ms / 1000);
  metrics_.in_flight_add(-1);
}

grpc::Status UpscalerService::admit(const std::string& model) {
  if (draining_) {
    metrics_.request_done(model, "UNAVAILABLE", 0);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down; retry on another instance");
  }
  metrics_.in_flight_add(1);
  return grpc::Status::OK;
}

grpc::Status UpscalerService::queue_full(const char* rpc, const std::string& model, Clock::time_point t0) {
  Outcome o;
  o.model = model;
  o.status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "queue full (" + std::to_string(io_.queued()) + " requests waiting); retry later");
  record(rpc, o, t0);
  return o.status;
}

grpc::ServerUnaryReactor* UpscalerService::Upscale(grpc::CallbackServerContext* ctx,
                                                   const scales::v1::UpscaleRequest* req,
                                                   scales::v1::UpscaleResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  const auto t0 = Clock::now();
  if (auto st = authorize(ctx); !st.ok()) {
    reactor->Finish(st);
    return reactor;
  }
  if (auto st = admit(req->options().model()); !st.ok()) {
    reactor->Finish(st);
    return reactor;
  }
  auto reply = [this, resp, reactor, t0](Outcome o) {
    if (o.status.ok() && o.image.size() + 4096 > limits_.max_message_bytes)
      o.status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "result is " + std::to_string(o.image.size()) + " bytes, more than one message (" +
                                  std::to_string(limits_.max_message_bytes >> 20) + " MiB); use UpscaleStream");
    if (o.status.ok()) {
      *resp->mutable_info() = o.info;
      resp->set_image(std::move(o.image));
    }
    record("Upscale", o, t0);
    reactor->Finish(o.status);
  };
  auto job = [this, ctx, req, t0, reply] {
    process(
        req->image(), req->options(), t0, ctx->deadline(), [ctx] { return ctx->IsCancelled(); }, reply);
  };
  if (!io_.submit(std::move(job))) reactor->Finish(queue_full("Upscale", req->options().model(), t0));
  return reactor;
}

namespace {

// UpscaleStream: read the options and every chunk, run the image on a worker, then write the
// result's info and its bytes in 1 MiB chunks. gRPC calls OnDone last; the reactor deletes itself.
class StreamReactor final
    : public grpc::ServerBidiReactor<scales::v1::UpscaleStreamRequest, scales::v1::UpscaleStreamResponse> {
 public:
  static constexpr size_t kChunk = size_t{1} << 20;

  StreamReactor(UpscalerService& svc, grpc::CallbackServerContext* ctx, size_t max_upload)
      : svc_(svc), ctx_(ctx), max_upload_(max_upload), t0_(Clock::now()) {
    if (auto st = svc_.authorize(ctx); !st.ok()) {
      Finish(st);
      return;
    }
    if (auto st = svc_.admit(""); !st.ok()) {
      Finish(st);
      return;
    }
    admitted_ = true;
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      if (first_) {
        options_ = in_.options();
        first_ = false;
      }
      if (upload_.size() + in_.chunk().size() > max_upload_)
        return fail(grpc::StatusCode::RESOURCE_EXHAUSTED,
                    "upload exceeds " + std::to_string(max_upload_ >> 20) + " MiB (--max-upload-mb)");
      upload_.append(in_.chunk());
      StartRead(&in_);
      return;
    }
    if (cancelled_) return fail(grpc::StatusCode::CANCELLED, "cancelled during upload");
    if (first_) return fail(grpc::StatusCode::INVALID_ARGUMENT, "stream carried no request message");
    auto job = [this] {
      svc_.process(
          upload_, options_, t0_, ctx_->deadline(), [this] { return cancelled_.load(); },
          [this](UpscalerService::Outcome o) {
            upload_.clear();
            if (!o.status.ok()) return finish(o);
            outcome_ = std::move(o);
            send_next();
          });
    };
    if (!svc_.submit(std::move(job))) {
      admitted_ = false;  // queue_full records it
      Finish(svc_.queue_full("UpscaleStream", options_.model(), t0_));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      outcome_.status = grpc::Status(grpc::StatusCode::CANCELLED, "client went away during download");
      return finish(outcome_);
    }
    if (pos_ < outcome_.image.size()) return send_next();
    finish(outcome_);
  }

  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  void send_next() {
    out_.Clear();
    if (pos_ == 0) *out_.mutable_info() = outcome_.info;
    const size_t n = std::min(kChunk, outcome_.image.size() - pos_);
    out_.set_chunk(outcome_.image.data() + pos_, n);
    pos_ += n;
    StartWrite(&out_);
  }
  void fail(grpc::StatusCode c, const std::string& msg) {
    UpscalerService::Outcome o;
    o.model = options_.model();
    o.status = grpc::Status(c, msg);
    finish(o);
  }
  void finish(const UpscalerService::Outcome& o) {
    if (admitted_) svc_.record("UpscaleStream", o, t0_);
    admitted_ = false;
    Finish(o.status);
  }

  UpscalerService& svc_;
  grpc::CallbackServerContext* ctx_;
  const size_t max_upload_;
  const Clock::time_point t0_;
  bool admitted_ = false, first_ = true;
  std::atomic<bool> cancelled_{false};
  scales::v1::UpscaleStreamRequest in_;
  scales::v1::UpscaleStreamResponse out_;
  scales::v1::UpscaleOptions options_;
  std::string upload_;
  UpscalerService::Outcome outcome_;
  size_t pos_ = 0;
};

}  // namespace

grpc::ServerBidiReactor<scales::v1::UpscaleStreamRequest, scales::v1::UpscaleStreamResponse>*
UpscalerService::UpscaleStream(grpc::CallbackServerContext* ctx) {
  return new StreamReactor(*this, ctx, limits_.max_upload_bytes);
}

grpc::ServerUnaryReactor* UpscalerService::ListModels(grpc::CallbackServerContext* ctx,
                                                      const scales::v1::ListModelsRequest*,
                                                      scales::v1::ListModelsResponse* resp) {
  if (auto st = authorize(ctx); !st.ok()) {
    auto* r = ctx->DefaultReactor();
    r->Finish(st);
    return r;
  }
  for (const auto& m : *registry_.snapshot()) {
    const ModelInfo& i = m->model->info();
    auto* o = resp->add_models();
    o->set_name(m->name);
    o->set_scale(i.scale);
    o->set_architecture(i.architecture);
    o->set_variant(i.variant);
    o->set_blocks(i.blocks);
    o->set_channels(i.channels);
    o->set_binary(i.binary);
    o->set_is_default(m->is_default);
    for (const auto& s : m->scores) {
      auto* sc = o->add_scores();
      sc->set_set(s.set);
      sc->set_psnr(s.psnr);
      sc->set_ssim(s.ssim);
    }
    shape_costs(i, o);
  }
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace scales::server
