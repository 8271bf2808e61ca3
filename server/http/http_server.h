// The HTTP front door (issue 21): REST and the web page beside gRPC, in the same process and
// over the same UpscalerService (admission, draining, call pipeline, metrics). httplib owns the
// connections and a pool of handler threads; an upscale blocks its handler thread until its call
// replies, so `threads` bounds the HTTP requests being served at once (more wait in httplib's
// queue, as gRPC requests wait in its completion queues).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "registry.h"
#include "service.h"

namespace httplib {
class Server;
}

namespace scales::server::http {

struct HttpOptions {
  std::string listen;                            // host:port
  int threads = 64;                              // handler threads
  size_t max_body_bytes = 0;                     // larger bodies get 413
  std::string tls_cert, tls_key, tls_client_ca;  // PEM paths; empty cert: plain HTTP
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, UpscalerService& service, const Registry& registry);
  ~HttpServer();  // stop()s

  // Binds and starts serving on a thread of its own; false with `error` set when it cannot
  // (a bad address, a port in use, an unreadable certificate).
  bool start(std::string& error);
  int port() const { return port_; }
  // Cancels the calls still running (after the grace period), closes the listening socket, ends
  // the keep-alive connections and joins the handler threads; call after the service's
  // wait_idle(), so admitted requests have normally been answered already.
  void stop();

 private:
  HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

}  // namespace scales::server::http
