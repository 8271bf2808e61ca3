#include "routes.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include "auth.h"
#include "model_cards.h"
#include "scales_page_html.h"  // generated from page.html (CMakeLists.txt)
#include "status_map.h"

namespace scales::server::http {

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(status, status_name(status), message), "application/json");
}

bool authorized(const httplib::Request& req, httplib::Response& res, const UpscalerService& service) {
  std::optional<std::string_view> value;
  // Held in a local: get_header_value returns a copy.
  const std::string header = req.get_header_value("Authorization");
  if (req.has_header("Authorization")) value = header;
  const AuthResult a = check_bearer(service.tokens(), value);
  if (a == AuthResult::ok) return true;
  // RFC 6750: a refused bearer request names the scheme, so clients know what to send.
  res.set_header("WWW-Authenticate", a == AuthResult::rejected ? "Bearer error=\"invalid_token\"" : "Bearer");
  send_error(res, a == AuthResult::rejected ? 403 : 401, auth_message(a, "header"));
  return false;
}

namespace {

// Proto3's canonical JSON (lowerCamelCase names), every field printed even when zero or false,
// so the cards read the same as ListModels' through `buf curl`.
template <class Message>
std::string to_json(const Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, o).ok()) throw std::runtime_error("cannot print JSON");
  return out + "\n";
}

}  // namespace

void add_model_routes(httplib::Server& server, const UpscalerService& service, const Registry& registry) {
  server.Get("/v1/models", [&](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res, service)) return;
    scales::v1::ListModelsResponse cards;
    model_cards(registry, &cards);
    res.set_content(to_json(cards), "application/json");
  });
  server.Get(R"(/v1/models/([^/:]+))", [&](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res, service)) return;
    scales::v1::ListModelsResponse cards;
    model_cards(registry, &cards);
    const std::string name = req.matches[1];
    for (const auto& m : cards.models())
      if (m.name() == name) return res.set_content(to_json(m), "application/json");
    send_error(res, 404, "unknown model '" + name + "' (GET /v1/models lists them)");
  });
}

void add_probe_routes(httplib::Server& server, UpscalerService& service, const Registry& registry) {
  // Liveness: the process answers. Readiness: it has models and is not draining, so a load
  // balancer stops sending work as soon as SIGTERM arrives.
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"SERVING\"}\n", "application/json");
  });
  server.Get("/readyz", [&](const httplib::Request&, httplib::Response& res) {
    if (service.draining()) return send_error(res, 503, "draining: server is shutting down");
    if (registry.snapshot()->empty()) return send_error(res, 503, "no model loaded");
    res.set_content("{\"status\":\"SERVING\"}\n", "application/json");
  });
}

void add_page_route(httplib::Server& server) {
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    // Everything the page needs is inline; the policy forbids any other origin, so a change that
    // adds a CDN script or font fails in the browser test instead of leaking requests.
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "img-src 'self' blob: data:; connect-src 'self'; form-action 'none'; base-uri 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(kPageHtml.data(), kPageHtml.size(), "text/html; charset=utf-8");
  });
}

void add_error_handlers(httplib::Server& server) {
  // httplib calls this for every status >= 400; a handler's own JSON body is kept.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.content_length_ > 0) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = "HTTP " + std::to_string(res.status);
        if (res.status == 404) message = "no route " + req.method + " " + req.path;
        if (res.status == 413) message = "request body too large (--max-upload-mb)";
        if (res.status == 400) message = "malformed HTTP request";
        send_error(res, res.status, message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, "internal error: " + what);
  });
}

}  // namespace scales::server::http
