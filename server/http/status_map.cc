#include "status_map.h"

#include <nlohmann/json.hpp>

namespace scales::server::http {

int http_status(const CallResult& r) {
  switch (r.code) {
    case Code::ok: return 200;
    case Code::invalid_argument: return 400;
    case Code::not_found: return 404;
    case Code::resource_exhausted: return r.too_large ? 413 : 429;
    case Code::deadline_exceeded: return 504;
    // nginx's "client closed request": only the log and metrics see it, the client is gone.
    case Code::cancelled: return 499;
    case Code::internal: return 500;
  }
  return 500;
}

std::string error_json(int http_status, const std::string& status, const std::string& message) {
  return nlohmann::json{{"code", http_status}, {"status", status}, {"message", message}}.dump() + "\n";
}

const char* status_name(int s) {
  switch (s) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "UNIMPLEMENTED";
    case 413:
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return s >= 500 ? "INTERNAL" : "UNKNOWN";
  }
}

}  // namespace scales::server::http
