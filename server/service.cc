#include "service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "auth.h"
#include "footprint.h"
#include "model_cards.h"

namespace scales::server {

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

grpc::Status to_status(const CallResult& r) {
  switch (r.code) {
    case Code::ok: return grpc::Status::OK;
    case Code::cancelled: return grpc::Status(grpc::StatusCode::CANCELLED, r.message);
    case Code::invalid_argument: return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, r.message);
    case Code::deadline_exceeded: return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, r.message);
    case Code::not_found: return grpc::Status(grpc::StatusCode::NOT_FOUND, r.message);
    case Code::resource_exhausted: return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, r.message);
    case Code::internal: return grpc::Status(grpc::StatusCode::INTERNAL, r.message);
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, r.message);
}

// One structured log line per request.
void log_request(const std::string& rpc, const CallResult& r, const grpc::Status& st, double ms, const char* protocol) {
  nlohmann::json j = {{"rpc", rpc},
                      {"protocol", protocol},
                      {"model", r.model},
                      {"in", std::to_string(r.in_w) + "x" + std::to_string(r.in_h)},
                      {"out", std::to_string(r.out_w) + "x" + std::to_string(r.out_h)},
                      {"status", st.error_code()},
                      {"ms", ms}};
  if (!st.ok()) j["error"] = st.error_message();
  std::fprintf(stderr, "%s\n", j.dump().c_str());
}

}  // namespace

grpc::Status UpscalerService::authorize(const grpc::CallbackServerContext* ctx) const {
  const auto& md = ctx->client_metadata();
  const auto it = md.find("authorization");
  std::optional<std::string_view> value;
  if (it != md.end()) value = std::string_view(it->second.data(), it->second.size());
  const AuthResult a = check_bearer(tokens_, value);
  if (a == AuthResult::ok) return grpc::Status::OK;
  return grpc::Status(
      a == AuthResult::rejected ? grpc::StatusCode::PERMISSION_DENIED : grpc::StatusCode::UNAUTHENTICATED,
      auth_message(a, "metadata"));
}

void UpscalerService::record(const char* rpc, const CallResult& r, Clock::time_point t0, const char* protocol) {
  const double ms = ms_since(t0);
  log_request(rpc, r, to_status(r), ms, protocol);
  metrics_.request_done(r.model, code_name(r.code), ms / 1000, protocol);
  metrics_.in_flight_add(-1);
}

grpc::Status UpscalerService::admit(const std::string& model, const char* protocol) {
  {
    std::lock_guard<std::mutex> lk(open_mu_);
    if (!draining_) {
      ++open_;
      metrics_.in_flight_add(1);
      return grpc::Status::OK;
    }
  }
  metrics_.request_done(model, "UNAVAILABLE", 0, protocol);
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down; retry on another instance");
}

void UpscalerService::call_done() {
  std::lock_guard<std::mutex> lk(open_mu_);
  if (--open_ == 0) open_cv_.notify_all();
}

bool UpscalerService::wait_idle(std::chrono::system_clock::time_point deadline) {
  std::unique_lock<std::mutex> lk(open_mu_);
  return open_cv_.wait_until(lk, deadline, [&] { return open_ == 0; });
}

namespace {

// Upscale's reactor: tells the service when an admitted call is done (draining waits for it).
class UnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  void count_in(UpscalerService& svc) { svc_ = &svc; }
  // The call's memory reservation, held until the response (which holds the image) is written.
  void keep(Reservation memory) { memory_ = std::move(memory); }
  void OnDone() override {
    if (svc_) svc_->call_done();
    delete this;
  }

 private:
  UpscalerService* svc_ = nullptr;
  Reservation memory_;
};

}  // namespace

grpc::Status UpscalerService::queue_full(const char* rpc, const std::string& model, Clock::time_point t0,
                                         const char* protocol) {
  CallResult r;
  r.model = model;
  r.code = Code::resource_exhausted;
  r.message = "queue full (" + std::to_string(io_.queued()) + " requests waiting); retry later";
  record(rpc, r, t0, protocol);
  return to_status(r);
}

grpc::ServerUnaryReactor* UpscalerService::Upscale(grpc::CallbackServerContext* ctx,
                                                   const scales::v1::UpscaleRequest* req,
                                                   scales::v1::UpscaleResponse* resp) {
  auto* reactor = new UnaryReactor;  // deletes itself in OnDone
  const auto t0 = Clock::now();
  if (auto st = authorize(ctx); !st.ok()) {
    reactor->Finish(st);
    return reactor;
  }
  if (auto st = admit(req->options().model()); !st.ok()) {
    reactor->Finish(st);
    return reactor;
  }
  reactor->count_in(*this);
  auto reply = [this, resp, reactor, t0](CallResult r) {
    if (r.code == Code::ok && r.image.size() + 4096 > limits_.max_message_bytes) {
      r.code = Code::resource_exhausted;
      r.message = "result is " + std::to_string(r.image.size()) + " bytes, more than one message (" +
                  std::to_string(limits_.max_message_bytes >> 20) + " MiB); use UpscaleStream";
    }
    if (r.code == Code::ok) {
      *resp->mutable_info() = r.info;
      resp->set_image(std::move(r.image));
      reactor->keep(std::move(r.memory));
    }
    record("Upscale", r, t0);
    reactor->Finish(to_status(r));
  };
  auto job = [this, ctx, req, t0, reply] {
    start({req->image(), req->options(), t0, ctx->deadline(), [ctx] { return ctx->IsCancelled(); }}, reply);
  };
  if (!io_.submit(std::move(job))) reactor->Finish(queue_full("Upscale", req->options().model(), t0));
  return reactor;
}

namespace {

// UpscaleStream: read the options and every chunk, then run the call, writing the result's
// chunks as the encoder produces them (during inference: CallRequest::stream). The first
// response carries the result's shape, the last one its complete info (size, timings). Writes
// queue in `pending_` (gRPC takes one at a time); Finish comes once the call has ended and every
// queued write is done. gRPC calls OnDone last; the reactor deletes itself.
class StreamReactor final
    : public grpc::ServerBidiReactor<scales::v1::UpscaleStreamRequest, scales::v1::UpscaleStreamResponse> {
 public:
  StreamReactor(UpscalerService& svc, grpc::CallbackServerContext* ctx, size_t max_upload, const SpoolOptions& spool)
      : svc_(svc), ctx_(ctx), max_upload_(max_upload), t0_(Clock::now()), upload_(spool) {
    if (auto st = svc_.authorize(ctx); !st.ok()) {
      Finish(st);
      return;
    }
    if (auto st = svc_.admit(""); !st.ok()) {
      Finish(st);
      return;
    }
    admitted_ = counted_ = true;
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      if (first_) {
        options_ = in_.options();
        first_ = false;
      }
      if (upload_.size() + in_.chunk().size() > max_upload_)
        return fail(Code::resource_exhausted,
                    "upload exceeds " + std::to_string(max_upload_ >> 20) + " MiB (--max-upload-mb)");
      // Past --spool-above-mb this writes the chunk to the spool file, on this gRPC thread: a
      // write into the page cache, which returns at once unless the disk falls far behind.
      try {
        upload_.append(in_.chunk());
      } catch (const UploadError& e) {
        return fail(Code::resource_exhausted, e.what());
      }
      StartRead(&in_);
      return;
    }
    if (cancelled_) return fail(Code::cancelled, "cancelled during upload");
    if (first_) return fail(Code::invalid_argument, "stream carried no request message");
    auto job = [this] {
      CallRequest req{upload_.bytes(), options_, t0_, ctx_->deadline(), [this] { return cancelled_.load(); }};
      if (upload_.spooled()) req.upload_fd = upload_.fd();
      req.release_upload = [this] { upload_.release(); };
      req.stream = [this](const scales::v1::ResultInfo* first, std::string bytes) {
        scales::v1::UpscaleStreamResponse m;
        if (first) *m.mutable_info() = *first;
        m.set_chunk(std::move(bytes));
        send(std::move(m));
      };
      svc_.start(std::move(req), [this](CallResult r) {
        upload_.release();
        if (r.code == Code::ok) {  // the complete info: size and timings are known now
          scales::v1::UpscaleStreamResponse m;
          *m.mutable_info() = r.info;
          send(std::move(m));
        }
        end(std::move(r));
      });
    };
    if (!svc_.submit(std::move(job))) {
      admitted_ = false;  // queue_full records it
      Finish(svc_.queue_full("UpscaleStream", options_.model(), t0_));
    }
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lk(mu_);
    if (!ok) broken_ = true;  // the client went away: drop the rest (OnCancel cancels the call)
    if (!broken_ && !pending_.empty()) return write_next(lk);
    writing_ = false;
    if (ended_) finish_now(lk);
  }

  void OnCancel() override { cancelled_ = true; }
  void OnDone() override {
    if (counted_) svc_.call_done();
    delete this;
  }

 private:
  // A response to write: now if none is in flight, else after the ones queued before it.
  // A client that reads slower than the result is produced may have kMaxStreamQueue bytes
  // waiting (the memory the call reserved for it, footprint.h); past that the call is stopped.
  void send(scales::v1::UpscaleStreamResponse m) {
    std::unique_lock<std::mutex> lk(mu_);
    if (broken_ || ended_) return;
    queued_ += m.chunk().size();
    if (queued_ > kMaxStreamQueue) {
      too_slow_ = broken_ = true;
      cancelled_ = true;  // the call stops at its next tile
      pending_.clear();
      return;
    }
    pending_.push_back(std::move(m));
    if (!writing_) write_next(lk);
  }
  void write_next(std::unique_lock<std::mutex>& lk) {
    writing_ = true;
    out_ = std::move(pending_.front());
    pending_.pop_front();
    queued_ -= out_.chunk().size();
    lk.unlock();
    StartWrite(&out_);
  }
  // The call has ended: Finish once the queued writes are done.
  void end(CallResult r) {
    std::unique_lock<std::mutex> lk(mu_);
    outcome_ = std::move(r);
    ended_ = true;
    if (!writing_) finish_now(lk);
  }
  void finish_now(std::unique_lock<std::mutex>& lk) {
    if (finished_) return;
    finished_ = true;
    if (too_slow_) {
      outcome_.code = Code::resource_exhausted;
      outcome_.message = "the client read the result too slowly (more than " + std::to_string(kMaxStreamQueue >> 20) +
                         " MiB waiting to be sent)";
    } else if (broken_ && outcome_.code == Code::ok) {
      outcome_.code = Code::cancelled;
      outcome_.message = "client went away during download";
    }
    lk.unlock();
    outcome_.memory.reset();
    finish(outcome_);
  }
  void fail(Code c, const std::string& msg) {
    CallResult r;
    r.model = options_.model();
    r.code = c;
    r.message = msg;
    finish(r);
  }
  void finish(const CallResult& r) {
    if (admitted_) svc_.record("UpscaleStream", r, t0_);
    admitted_ = false;
    Finish(to_status(r));
  }

  UpscalerService& svc_;
  grpc::CallbackServerContext* ctx_;
  const size_t max_upload_;
  const Clock::time_point t0_;
  bool admitted_ = false, first_ = true;
  bool counted_ = false;  // admitted: call_done() in OnDone (admitted_ drops once recorded)
  std::atomic<bool> cancelled_{false};
  scales::v1::UpscaleStreamRequest in_;
  scales::v1::UpscaleOptions options_;
  Upload upload_;  // in memory, or spooled to disk once large

  std::mutex mu_;  // guards the fields below (writes come from the encoder's thread and gRPC's)
  std::deque<scales::v1::UpscaleStreamResponse> pending_;
  scales::v1::UpscaleStreamResponse out_;  // the write in flight
  bool writing_ = false, ended_ = false, broken_ = false, finished_ = false, too_slow_ = false;
  size_t queued_ = 0;  // bytes in pending_
  CallResult outcome_;
};

}  // namespace

grpc::ServerBidiReactor<scales::v1::UpscaleStreamRequest, scales::v1::UpscaleStreamResponse>*
UpscalerService::UpscaleStream(grpc::CallbackServerContext* ctx) {
  return new StreamReactor(*this, ctx, limits_.max_upload_bytes, limits_.spool);
}

grpc::ServerUnaryReactor* UpscalerService::ListModels(grpc::CallbackServerContext* ctx,
                                                      const scales::v1::ListModelsRequest*,
                                                      scales::v1::ListModelsResponse* resp) {
  if (auto st = authorize(ctx); !st.ok()) {
    auto* r = ctx->DefaultReactor();
    r->Finish(st);
    return r;
  }
  model_cards(registry_, resp);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace scales::server
