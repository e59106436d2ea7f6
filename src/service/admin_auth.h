// service/admin_auth.h — who may use the admin API.
//
// A request is an operator's when its `Authorization: Bearer X` carries either
//  - the configured API key (--admin-key; compared in constant time: both
//    sides are hashed with SHA-256 first, so neither the content nor the
//    length of the key leaks through timing), or
//  - a JWT the server's verifier accepts whose grants say `"admin": true`.
// Thread safety: check() is const and may run on every shard at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "auth/jwt_verifier.h"

namespace sb::service {

enum class AdminAuthResult {
  ok,
  missing,    // no Authorization: Bearer header           -> 401
  invalid,    // neither the key nor a valid token         -> 401
  forbidden,  // a valid token without grants.admin        -> 403
};

struct AdminAuthOutcome {
  AdminAuthResult result = AdminAuthResult::missing;
  std::string detail;  // for the error message and the log; never contains the credential
};

class AdminAuth {
 public:
  // `api_key` empty: only admin tokens are accepted. `verifier` may be null: only the key.
  AdminAuth(std::string api_key, const auth::JwtVerifier* verifier);

  // Replaces the verifier for tokens (e.g. to accept OpenID Connect tokens
  // too). Call before the first check().
  void set_token_check(std::function<auth::VerifyResult(std::string_view, int64_t)> check) {
    token_check_ = std::move(check);
  }

  // `authorization` is the raw header value (empty when absent). Cost: one
  // SHA-256 of the credential; a token verification when it is not the key.
  AdminAuthOutcome check(std::string_view authorization, int64_t now_unix) const;

 private:
  bool has_key_;
  std::string key_digest_;  // SHA-256 of the key
  const auth::JwtVerifier* verifier_;
  std::function<auth::VerifyResult(std::string_view, int64_t)> token_check_;
};

// Constant-time equality of two byte strings of any lengths (hashes both, then compares the digests).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sb::service
