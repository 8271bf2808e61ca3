// The HTTP front door's routes (docs/service.md, "HTTP"). Every handler runs on one of
// httplib's handler threads and may block it (an upscale waits there for its call); none holds a
// lock while it does.
//
//   POST /v1/models/{name}:upscale   image in, image out        upscale_route.cc
//   GET  /v1/models, /v1/models/{name}  model cards as JSON     routes.cc
//   GET  /healthz, /readyz           probes                     routes.cc
//   GET  /                           the web page (page.html)   routes.cc
#pragma once

#include <atomic>
#include <string>

#include "registry.h"
#include "service.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace scales::server::http {

// `stopping`: set when the front door stops; calls still running then are cancelled (their queued
// tiles dropped), as gRPC cancels the calls left when its grace period ends.
void add_upscale_route(httplib::Server& server, UpscalerService& service, const std::atomic<bool>& stopping);
void add_model_routes(httplib::Server& server, const UpscalerService& service, const Registry& registry);
void add_probe_routes(httplib::Server& server, UpscalerService& service, const Registry& registry);
void add_page_route(httplib::Server& server);
// JSON bodies for the errors httplib answers itself (unknown route, body too large) and for
// handler exceptions.
void add_error_handlers(httplib::Server& server);

// Shared by the routes: answers `status` with the JSON error body.
void send_error(httplib::Response& res, int status, const std::string& message);
// The bearer-token check (auth.h) on the Authorization header; false after answering 401/403.
bool authorized(const httplib::Request& req, httplib::Response& res, const UpscalerService& service);

}  // namespace scales::server::http
