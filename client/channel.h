// The gRPC channel both remote commands (upscale, health) use.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace scales::client {

// `target` is anything gRPC resolves: HOST:PORT, dns:///HOST:PORT (every address the name has,
// e.g. a Kubernetes headless Service: one per pod) or ipv4:A:P,B:Q. The channel balances calls
// round-robin over all resolved addresses, so one client spreads its work over every server
// instead of pinning itself to the first connection. An empty `tls_ca` means plaintext;
// otherwise TLS trusting the roots in that PEM file (throws scales::Error if unreadable).
std::shared_ptr<grpc::Channel> make_channel(const std::string& target, const std::string& tls_ca);

}  // namespace scales::client
