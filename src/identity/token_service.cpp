#include "identity/token_service.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/json_text.h"
#include "core/utf8.h"
#include "identity/password.h"

namespace sb::identity {

namespace json = boost::json;

std::optional<TokenRequest> parse_token_request(std::string_view body, std::string& error) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  TokenRequest r;
  for (const auto& [key, value] : v.get_object()) {
    if (key == "username" || key == "password" || key == "room") {
      if (!value.is_string()) {
        error = std::string(key) + " must be a string";
        return std::nullopt;
      }
      std::string s(value.get_string());
      if (key == "username")
        r.username = std::move(s);
      else if (key == "password")
        r.password = std::move(s);
      else
        r.room = std::move(s);
    } else if (key == "ttl_s") {
      if (!value.is_int64() && !value.is_uint64()) {
        error = "ttl_s must be an integer";
        return std::nullopt;
      }
      const int64_t t = value.is_int64() ? value.get_int64() : INT64_MAX;
      if (t <= 0) {
        error = "ttl_s must be positive";
        return std::nullopt;
      }
      r.ttl_s = t;
    } else {
      error = "unknown member '" + std::string(key) + "'";
      return std::nullopt;
    }
  }
  if (r.username.empty() || r.username.size() > 256 || !utf8_valid(r.username)) {
    error = "username is required (1-256 bytes of UTF-8)";
    return std::nullopt;
  }
  if (r.password.empty() || r.password.size() > kMaxPasswordBytes) {
    error = "password is required (at most " + std::to_string(kMaxPasswordBytes) + " bytes)";
    return std::nullopt;
  }
  if (r.room && (r.room->empty() || r.room->size() > 256 || !utf8_valid(*r.room))) {
    error = "room must be a room name";
    return std::nullopt;
  }
  return r;
}

IssueError issue_token(const auth::TokenSigner& signer, const TokenPolicy& policy, const Principal& who,
                       const std::optional<std::string>& room, std::optional<int64_t> ttl_s, int64_t now,
                       IssuedToken& out) {
  auth::TokenSpec spec;
  spec.user = who.user;
  spec.name = who.name;
  spec.grants = who.grants;
  if (room) {
    if (!who.grants.may_join(*room)) return IssueError::room_not_granted;
    spec.grants.rooms = {*room};
  }
  const int64_t ttl = std::min(ttl_s.value_or(policy.default_ttl_s), policy.max_ttl_s);
  spec.issued_at = now;
  spec.expires_at = now + std::max<int64_t>(ttl, 1);
  spec.issuer = policy.issuer;
  spec.audience = policy.audience;
  out.token = signer.sign(spec);
  out.expires_at = spec.expires_at;
  return IssueError::none;
}

std::string token_response_json(const IssuedToken& t) {
  std::string s = "{\"token\":";
  json_append_string(s, t.token);
  s += ",\"expires_at\":";
  json_append_uint(s, static_cast<uint64_t>(t.expires_at));
  s += "}";
  return s;
}

}  // namespace sb::identity
