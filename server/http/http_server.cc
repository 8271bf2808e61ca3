#include "http_server.h"

#include <httplib.h>

#include "routes.h"

namespace scales::server::http {

HttpServer::HttpServer(HttpOptions options, UpscalerService& service, const Registry& registry)
    : options_(std::move(options)) {
  if (options_.tls_cert.empty())
    server_ = std::make_unique<httplib::Server>();
  else
    server_ =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str(),
                                             options_.tls_client_ca.empty() ? nullptr : options_.tls_client_ca.c_str());
  const size_t threads = static_cast<size_t>(options_.threads);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.max_body_bytes);
  // Uploads and results of tens of MiB over slow links: httplib's 5 s per read or write is per
  // socket operation, not per request, so it only ends stalled connections.
  server_->set_read_timeout(30);
  server_->set_write_timeout(30);
  server_->set_tcp_nodelay(true);
  // httplib closes a keep-alive connection after 5 requests by default: a client sending a folder
  // would reconnect every 5 images. gRPC keeps its connection for good.
  server_->set_keep_alive_max_count(1000);
  add_upscale_route(*server_, service, stopping_);
  add_model_routes(*server_, service, registry);
  add_probe_routes(*server_, service, registry);
  add_page_route(*server_);
  add_error_handlers(*server_);
}

HttpServer::~HttpServer() { stop(); }

bool HttpServer::start(std::string& error) {
  if (!server_->is_valid()) {
    error = "cannot set up TLS from " + options_.tls_cert + " and " + options_.tls_key;
    return false;
  }
  // host:port, the host possibly a bracketed IPv6 address.
  const size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos) {
    error = "--http-listen needs HOST:PORT, not '" + options_.listen + "'";
    return false;
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(options_.listen.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    error = "--http-listen: bad port in '" + options_.listen + "'";
    return false;
  }
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    error = "cannot listen on " + options_.listen;
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  server_->stop();
  thread_.join();
}

}  // namespace scales::server::http
