#include "service.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace scales::server {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string format_name(scales::v1::Format f) {
  switch (f) {
    case scales::v1::FORMAT_UNSPECIFIED:
    case scales::v1::FORMAT_PNG:
      return "png";
    case scales::v1::FORMAT_JPEG:
      return "jpg";
    case scales::v1::FORMAT_WEBP:
      return "webp";
    case scales::v1::FORMAT_TIFF:
      return "tif";
    default:
      return "";
  }
}

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
  nlohmann::json j = {{"rpc", rpc},     {"model", model},      {"in", std::to_string(in_w) + "x" + std::to_string(in_h)},
                      {"out", std::to_string(out_w) + "x" + std::to_string(out_h)},
                      {"status", st.error_code()}, {"ms", ms}};
  if (!st.ok()) j["error"] = st.error_message();
  std::fprintf(stderr, "%s\n", j.dump().c_str());
}

// MACs per input pixel and parameter counts of a SCALES-EDSR shape.
void shape_costs(const ModelInfo& i, scales::v1::ModelInfo* out) {
  const double c = i.channels, layers = 2.0 * i.blocks + 1;
  double fp = 3 * c * 9, res2 = 1;
  double fp_params = 3 * c * 9 + c;
  for (int f : i.scale == 4 ? std::vector<int>{2, 2} : std::vector<int>{i.scale}) {
    fp += res2 * c * f * f * c * 9;
    fp_params += c * f * f * c * 9 + f * f * c;
    res2 *= f * f;
  }
  fp += res2 * c * 3 * 9;
  fp_params += c * 3 * 9 + 3;
  const double body = layers * c * c * 9;
  if (i.binary) {
    out->set_binary_params(static_cast<int64_t>(body));
    out->set_binary_macs_per_pixel(body);
  } else {
    fp += body;
    fp_params += body;
  }
  out->set_fp_params(static_cast<int64_t>(fp_params));
  out->set_fp_macs_per_pixel(fp);
}

}  // namespace

grpc::ServerUnaryReactor* UpscalerService::Upscale(grpc::CallbackServerContext* ctx,
                                                   const scales::v1::UpscaleRequest* req,
                                                   scales::v1::UpscaleResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  const auto t0 = Clock::now();
  if (draining_) {
    metrics_.request_done(req->options().model(), "UNAVAILABLE", 0);
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down; retry on another instance"));
    return reactor;
  }
  metrics_.in_flight_add(1);
  auto job = [this, ctx, req, resp, reactor, t0](Engine& engine) {
    const double queue_ms = ms_since(t0);
    std::string model_name = req->options().model();
    int in_w = 0, in_h = 0, out_w = 0, out_h = 0;
    metrics_.set_queue_depth(static_cast<double>(workers_.queued()));
    auto finish = [&](const grpc::Status& st) {
      const double ms = ms_since(t0);
      log_request("Upscale", model_name, in_w, in_h, out_w, out_h, st, ms);
      metrics_.request_done(model_name, code_name(st.error_code()), ms / 1000);
      metrics_.in_flight_add(-1);
      reactor->Finish(st);
    };
    // A passed deadline also marks the call cancelled, so it is checked first.
    if (ctx->deadline() < std::chrono::system_clock::now())
      return finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed while queued"));
    if (ctx->IsCancelled()) return finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while queued"));
    const auto& o = req->options();
    const std::string fmt = format_name(o.format());
    if (fmt.empty())
      return finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unknown output format " + std::to_string(o.format())));
    const int quality = o.quality() == 0 ? 90 : o.quality();
    if (quality < 1 || quality > 100)
      return finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "quality must be 1..100, got " + std::to_string(quality)));
    if (o.scale() < 0) return finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "scale must be positive"));
    std::shared_ptr<const ServedModel> m;
    try {
      m = registry_.find(o.model(), o.scale());
    } catch (const Registry::LookupError& e) {
      return finish(grpc::Status(e.not_found ? grpc::StatusCode::NOT_FOUND : grpc::StatusCode::INVALID_ARGUMENT, e.message));
    }
    model_name = m->name;
    try {
      auto t = Clock::now();
      const auto d = imageio::decode_buffer(req->image().data(), req->image().size(), "image", limits_.image);
      const double decode_ms = ms_since(t);
      in_w = d.rgb.width;
      in_h = d.rgb.height;
      t = Clock::now();
      const Image sr = engine.upscale(*m->model, d.rgb);
      const double infer_ms = ms_since(t);
      const int tile = engine.tile_size(*m->model, in_w, in_h);
      metrics_.image_done(m->name, queue_ms / 1000, infer_ms / 1000, ((in_w + tile - 1) / tile) * ((in_h + tile - 1) / tile),
                          static_cast<double>(in_w) * in_h, 1);
      out_w = sr.width;
      out_h = sr.height;
      if (ctx->IsCancelled()) return finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
      t = Clock::now();
      auto bytes = imageio::encode_buffer(sr, d.alpha, d.rgb.width, d.rgb.height, fmt, quality);
      const double encode_ms = ms_since(t);
      resp->set_image(bytes.data(), bytes.size());
      auto* info = resp->mutable_info();
      info->set_model(m->name);
      info->set_scale(m->model->info().scale);
      info->set_width(sr.width);
      info->set_height(sr.height);
      info->set_format(o.format() == scales::v1::FORMAT_UNSPECIFIED ? scales::v1::FORMAT_PNG : o.format());
      info->set_size_bytes(static_cast<int64_t>(bytes.size()));
      auto* tm = info->mutable_timings();
      tm->set_decode_ms(decode_ms);
      tm->set_queue_ms(queue_ms);
      tm->set_inference_ms(infer_ms);
      tm->set_encode_ms(encode_ms);
      tm->set_total_ms(ms_since(t0));
      finish(grpc::Status::OK);
    } catch (const imageio::LimitError& e) {
      finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, e.what()));
    } catch (const Error& e) {
      finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what()));
    } catch (const std::bad_alloc&) {
      finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory for this image"));
    } catch (const std::exception& e) {
      finish(grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what()));
    }
  };
  if (!workers_.submit(std::move(job))) {
    const grpc::Status st(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "queue full (" + std::to_string(workers_.queued()) + " requests waiting); retry later");
    log_request("Upscale", req->options().model(), 0, 0, 0, 0, st, ms_since(t0));
    metrics_.request_done(req->options().model(), "RESOURCE_EXHAUSTED", ms_since(t0) / 1000);
    metrics_.in_flight_add(-1);
    reactor->Finish(st);
  } else {
    metrics_.set_queue_depth(static_cast<double>(workers_.queued()));
  }
  return reactor;
}

grpc::ServerUnaryReactor* UpscalerService::ListModels(grpc::CallbackServerContext* ctx,
                                                      const scales::v1::ListModelsRequest*,
                                                      scales::v1::ListModelsResponse* resp) {
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
