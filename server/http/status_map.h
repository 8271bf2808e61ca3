// How the HTTP front door answers a call's outcome: the HTTP status of each call code and the
// JSON error body {code, status, message} every refusal carries (docs/service.md, "HTTP").
#pragma once

#include <string>

#include "call.h"

namespace scales::server::http {

// 200, 400 bad image or option, 404 unknown model, 413 over a size limit, 429 full (retry
// later), 499 client gone, 500, 504 deadline. Draining (503) and auth (401, 403) are answered
// before a call exists.
int http_status(const CallResult& r);

// The error body: {"code": <HTTP status>, "status": "<gRPC code name>", "message": "..."}. The
// gRPC name lets one client handle both protocols' errors alike.
std::string error_json(int http_status, const std::string& status, const std::string& message);

// The gRPC-style code name of an HTTP status this server answers (for bodies httplib makes: 404
// unknown route, 413 body over --max-upload-mb, 400 malformed request).
const char* status_name(int http_status);

}  // namespace scales::server::http
