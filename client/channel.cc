#include "channel.h"

#include <fstream>
#include <iterator>

#include "scales/types.h"

namespace scales::client {

std::shared_ptr<grpc::Channel> make_channel(const std::string& target, const std::string& tls_ca) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  // gRPC's default policy (pick_first) sends every call of a channel to one address; with a
  // headless Service that would leave all but one pod idle for this client.
  args.SetLoadBalancingPolicyName("round_robin");
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!tls_ca.empty()) {
    std::ifstream f(tls_ca);
    if (!f) throw Error(tls_ca + ": cannot read the TLS root certificates");
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    creds = grpc::SslCredentials(ssl);
  }
  return grpc::CreateCustomChannel(target, creds, args);
}

}  // namespace scales::client
