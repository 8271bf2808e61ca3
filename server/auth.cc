#include "auth.h"

namespace scales::server {

AuthResult check_bearer(const std::vector<std::string>& tokens, std::optional<std::string_view> value) {
  if (tokens.empty()) return AuthResult::ok;
  if (!value) return AuthResult::missing;
  if (!value->starts_with("Bearer ")) return AuthResult::malformed;
  const std::string_view token = value->substr(7);
  for (const auto& t : tokens)
    if (t == token) return AuthResult::ok;
  return AuthResult::rejected;
}

std::string auth_message(AuthResult r, const char* where) {
  switch (r) {
    case AuthResult::ok: return "";
    case AuthResult::missing: return std::string("this server needs 'authorization: Bearer <token>' ") + where;
    case AuthResult::malformed: return std::string("authorization ") + where + " must be 'Bearer <token>'";
    case AuthResult::rejected: return "bearer token not accepted";
  }
  return "";
}

}  // namespace scales::server
