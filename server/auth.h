// Bearer-token authorization, shared by the gRPC adapters (service.cc) and the HTTP front door
// (http/): one check, so both protocols accept and refuse exactly the same requests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scales::server {

enum class AuthResult {
  ok,         // no tokens configured, or an accepted one
  missing,    // no Authorization header / metadata           (gRPC UNAUTHENTICATED, HTTP 401)
  malformed,  // present but not "Bearer <token>"              (gRPC UNAUTHENTICATED, HTTP 401)
  rejected,   // a bearer token that is not in the tokens file (gRPC PERMISSION_DENIED, HTTP 403)
};

// `value`: the Authorization header or metadata, nullopt when absent. `tokens` empty: no auth.
AuthResult check_bearer(const std::vector<std::string>& tokens, std::optional<std::string_view> value);

// The message a refusal carries; `where` names the carrier ("metadata", "header").
std::string auth_message(AuthResult r, const char* where);

}  // namespace scales::server
