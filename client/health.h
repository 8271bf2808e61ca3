// `scales-upscale health`: one grpc.health.v1 Check against a server, for container HEALTHCHECKs
// and scripts (Kubernetes probes use their built-in gRPC probe instead).
#pragma once

#include <string>

namespace scales::client {

struct HealthOptions {
  std::string server = "127.0.0.1:50051";
  std::string service;  // "" = the whole server; "scales.v1.Upscaler" = that service
  std::string tls_ca;
  double timeout_s = 5;
};

// Prints the serving status; returns 0 when SERVING, 1 otherwise (not serving, unreachable,
// timed out), 2 for unusable options.
int run_health(const HealthOptions& opt);

}  // namespace scales::client
