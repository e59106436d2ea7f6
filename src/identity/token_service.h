// identity/token_service.h — what POST /v1/token decides, without I/O.
//
// parse_token_request() validates the body; issue_token() turns an
// authenticated user into a signed token: room narrowing, TTL capping and the
// claims. Who the user is (password check against the store, or an external
// backend) is decided elsewhere; these functions are pure apart from signing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/grants.h"
#include "auth/token_signer.h"
#include "core/ids.h"

namespace sb::identity {

struct TokenRequest {
  std::string username;
  std::string password;
  std::optional<std::string> room;
  std::optional<int64_t> ttl_s;
};

// Parses `{"username": str, "password": str, "room"?: str, "ttl_s"?: int}`.
// Unknown members are an error (a typo must not be ignored). On failure returns
// nullopt and a message for a 400 bad-request in `error`. Cost: one JSON parse
// of at most the HTTP body limit.
std::optional<TokenRequest> parse_token_request(std::string_view body, std::string& error);

struct TokenPolicy {
  std::string issuer;    // `iss`; omitted when empty
  std::string audience;  // `aud`; omitted when empty
  int64_t default_ttl_s = 3600;
  int64_t max_ttl_s = 86400;
};

// Who logged in, as the store or the external backend says.
struct Principal {
  UserId user;
  std::string name;
  auth::Grants grants;
};

struct IssuedToken {
  std::string token;
  int64_t expires_at = 0;
};

enum class IssueError { none, room_not_granted };

// Signs a token for `who` at `now`: exp = now + min(ttl_s or default, max);
// with `room`, the user's grants must allow that room and `grants.rooms`
// becomes exactly [room]. Cost: one signature (auth/token_signer.h).
IssueError issue_token(const auth::TokenSigner& signer, const TokenPolicy& policy, const Principal& who,
                       const std::optional<std::string>& room, std::optional<int64_t> ttl_s, int64_t now,
                       IssuedToken& out);

// `{"token": ..., "expires_at": ...}`.
std::string token_response_json(const IssuedToken& t);

}  // namespace sb::identity
