// POST /v1/models/{name}:upscale: the request body is the image; options come from the query
// (format, quality, deadline) or the matching X-Scales-* headers. The image goes through the same
// admission, call pipeline (call.h), memory budget, scheduler, limits, log line and metrics as a
// gRPC Upscale; only the reading of the request and the writing of the answer differ.
#include <httplib.h>

#include <charconv>
#include <future>
#include <memory>

#include "routes.h"
#include "scales/v1/format.h"
#include "status_map.h"

namespace scales::server::http {

namespace {

const char* content_type(imageio::Format f) {
  switch (f) {
    case imageio::Format::png: return "image/png";
    case imageio::Format::jpeg: return "image/jpeg";
    case imageio::Format::webp: return "image/webp";
    case imageio::Format::tiff: return "image/tiff";
  }
  return "application/octet-stream";
}

// A query parameter, else the header of that option (X-Scales-Format, ...); "" when neither.
std::string option(const httplib::Request& req, const char* param, const char* header) {
  if (req.has_param(param)) return req.get_param_value(param);
  return req.get_header_value(header);
}

// The options of the query and headers, or a message naming the bad one (answered 400).
struct Parsed {
  scales::v1::UpscaleOptions options;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::string error;
};

Parsed parse(const httplib::Request& req, const std::string& model) {
  Parsed p;
  p.options.set_model(model);
  if (const std::string f = option(req, "format", "X-Scales-Format"); !f.empty()) {
    try {
      p.options.set_format(scales::v1::to_proto(imageio::format_named(f)));
    } catch (const Error& e) {
      p.error = std::string("format: ") + e.what();
      return p;
    }
  }
  if (const std::string q = option(req, "quality", "X-Scales-Quality"); !q.empty()) {
    int v = 0;
    const auto [end, ec] = std::from_chars(q.data(), q.data() + q.size(), v);
    // Range checks stay with parse_options (call.cc), as for gRPC; 0 would mean "unset" there.
    if (ec != std::errc() || end != q.data() + q.size() || v == 0) {
      p.error = "quality must be an integer 1..100, not '" + q + "'";
      return p;
    }
    p.options.set_quality(v);
  }
  if (const std::string d = option(req, "deadline", "X-Scales-Deadline"); !d.empty()) {
    double s = 0;
    const auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), s);
    if (ec != std::errc() || end != d.data() + d.size() || !(s > 0) || s > 86400) {
      p.error = "deadline must be seconds from now, more than 0 and at most 86400, not '" + d + "'";
      return p;
    }
    p.deadline = std::chrono::system_clock::now() +
                 std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(s));
  }
  return p;
}

// Counts an admitted call open until its answer has been written (draining waits for it): the
// guard lives in the response's content provider, which httplib drops after writing.
class Admitted {
 public:
  explicit Admitted(UpscalerService& service) : service_(service) {}
  Admitted(const Admitted&) = delete;
  Admitted& operator=(const Admitted&) = delete;
  ~Admitted() { service_.call_done(); }

 private:
  UpscalerService& service_;
};

}  // namespace

void add_upscale_route(httplib::Server& server, UpscalerService& service, const std::atomic<bool>& stopping) {
  // With a content reader httplib leaves the body to the handler: without one it would parse a
  // body sent as application/x-www-form-urlencoded (curl --data-binary's default) as a form and
  // refuse one over 8 KiB with 413.
  server.Post(R"(/v1/models/([^/:]+):upscale)",
              [&service, &stopping](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& content_reader) {
                const auto t0 = Clock::now();
                // Held in memory, or spooled to disk once large, as UpscaleStream's uploads (upload.h).
                Upload body(service.spool());
                std::string spool_error;
                if (!content_reader([&body, &spool_error](const char* data, size_t n) {
                      try {
                        body.append({data, n});
                        return true;
                      } catch (const UploadError& e) {
                        spool_error = e.what();
                        return false;
                      }
                    })) {
                  res.set_header("Connection", "close");
                  if (!spool_error.empty()) {
                    res.set_header("Retry-After", "1");
                    return send_error(res, 429, spool_error);  // the spool is full, as gRPC's RESOURCE_EXHAUSTED
                  }
                  // httplib sets 413 when the body passes the payload limit (--max-upload-mb).
                  if (res.status == 413) return send_error(res, 413, "request body too large (--max-upload-mb)");
                  return send_error(res, 400, "cannot read the request body");
                }
                // Checked once the body is read (as gRPC reads a whole message first): answering before
                // would close the connection under a client still sending, which sees a reset, not the 401.
                if (!authorized(req, res, service)) return;
                const std::string model = req.matches[1];
                Parsed p = parse(req, model);
                if (!p.error.empty()) return send_error(res, 400, p.error);
                if (body.size() == 0)
                  return send_error(res, 400, "empty body: POST the image's bytes (curl --data-binary @file)");
                if (auto st = service.admit(model, "http"); !st.ok()) {
                  res.set_header("Retry-After", "1");
                  return send_error(res, 503, st.error_message());
                }
                auto admitted = std::make_shared<Admitted>(service);

                // This handler thread waits for the call; the promise is shared so the replying thread never
                // touches a promise this thread has already destroyed.
                auto done = std::make_shared<std::promise<CallResult>>();
                std::future<CallResult> result = done->get_future();
                CallRequest call{body.bytes(), p.options, t0, p.deadline, [&stopping] { return stopping.load(); }};
                if (body.spooled()) call.upload_fd = body.fd();
                auto job = [&service, call = std::move(call), done]() mutable {
                  service.start(std::move(call), [done](CallResult r) { done->set_value(std::move(r)); });
                };
                if (!service.submit(std::move(job))) {
                  res.set_header("Retry-After", "1");
                  return send_error(res, 429, service.queue_full("Upscale", model, t0, "http").error_message());
                }
                auto r = std::make_shared<CallResult>(result.get());  // `body` stays alive until here
                service.record("Upscale", *r, t0, "http");
                if (r->code != Code::ok) {
                  const int status = http_status(*r);
                  if (status == 429) res.set_header("Retry-After", "1");
                  return send_error(res, status, r->message);
                }
                const auto format = scales::v1::from_proto(r->info.format()).value_or(imageio::Format::png);
                res.set_header("X-Scales-Model", r->info.model());
                res.set_header("X-Scales-Scale", std::to_string(r->info.scale()));
                res.set_header("X-Scales-Width", std::to_string(r->info.width()));
                res.set_header("X-Scales-Height", std::to_string(r->info.height()));
                res.set_header("X-Scales-Seconds", std::to_string(r->info.timings().total_ms() / 1000));
                // The result and its memory reservation stay with the provider until the body is written.
                const size_t size = r->image.size();
                res.set_content_provider(size, content_type(format),
                                         [r, admitted](size_t offset, size_t length, httplib::DataSink& sink) {
                                           return sink.write(r->image.data() + offset, length);
                                         });
              });
}

}  // namespace scales::server::http
