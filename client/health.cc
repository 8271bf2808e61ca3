// The health protocol's messages are tiny (request: field 1 = service name; response: field 1 =
// status enum), so they are written and read as protobuf wire bytes through gRPC's generic stub
// rather than compiling a copy of health.proto into the client.
#include "health.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <vector>

#include "channel.h"
#include "scales/types.h"

namespace scales::client {

namespace {

const char* status_name(int s) {
  switch (s) {
    case 1: return "SERVING";
    case 2: return "NOT_SERVING";
    case 3: return "SERVICE_UNKNOWN";
    default: return "UNKNOWN";
  }
}

// HealthCheckResponse: field 1 (varint) = status; proto3 leaves out a zero status (UNKNOWN).
int parse_status(const std::string& wire) {
  if (wire.size() >= 2 && wire[0] == 0x08) return static_cast<unsigned char>(wire[1]) & 0x7f;
  return 0;
}

}  // namespace

int run_health(const HealthOptions& opt) {
  if (opt.service.size() > 127) {
    std::fprintf(stderr, "error: --service: a service name is at most 127 bytes\n");
    return 2;
  }
  std::shared_ptr<grpc::Channel> channel;
  try {
    channel = make_channel(opt.server, opt.tls_ca);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  std::string request;  // HealthCheckRequest{service = 1}
  if (!opt.service.empty()) request = std::string("\x0a") + static_cast<char>(opt.service.size()) + opt.service;
  grpc::Slice slice(request);
  grpc::ByteBuffer req(&slice, 1), resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(opt.timeout_s * 1000)));
  // Wait for the connection within the deadline: a server that is still starting is "not yet",
  // not an immediate failure.
  ctx.set_wait_for_ready(true);
  grpc::GenericStub stub(channel);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  const grpc::Status st = done.get_future().get();
  if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::fprintf(stderr, "%s: no health answer within %g s (not reachable, or not started yet)\n", opt.server.c_str(),
                 opt.timeout_s);
    return 1;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "%s: health check failed: %s (%d)\n", opt.server.c_str(), st.error_message().c_str(),
                 static_cast<int>(st.error_code()));
    return 1;
  }
  std::vector<grpc::Slice> slices;
  std::string wire;
  if (resp.Dump(&slices).ok())
    for (const auto& s : slices) wire.append(reinterpret_cast<const char*>(s.begin()), s.size());
  const int status = parse_status(wire);
  std::printf("%s%s%s: %s\n", opt.server.c_str(), opt.service.empty() ? "" : " ", opt.service.c_str(),
              status_name(status));
  return status == 1 ? 0 : 1;
}

}  // namespace scales::client
