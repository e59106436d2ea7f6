// auth/oidc_verifier.h — OAuth 2.0 / OpenID Connect tokens of one configured issuer.
//
// Accepts JWT access tokens (RFC 9068, header typ "at+jwt") and ID tokens
// signed by the issuer's keys, which come from its JWKS (discovered and
// fetched by service/oidc_keys, handed over with set_keys()). Checks:
//  - alg RS256 or ES256 only (HS256 and "none" are refused: the IdP's keys are public);
//  - the key is found by the header's `kid` (without a kid: the only key of
//    that alg); an unknown kid is reported as TokenError::no_key with
//    `unknown_kid` set, so the caller may refetch the JWKS once and retry;
//  - `iss` equals the issuer exactly, `aud` (string or array) contains the
//    audience when one is configured, `exp` is required, `exp`/`nbf` with leeway;
//  - `sub` is the user, `name` (else `preferred_username`) the display name.
// The signature is checked here with OpenSSL (auth/jwks.h), not libjwt: libjwt
// 1.x refuses every `typ` but "JWT", so it cannot verify RFC 9068 access tokens.
// Grants are not read from the token: they are mapped from its claims by the
// configured rules (see GrantRule). Thread safety: verify() and set_keys() may
// run on any thread at once (the key set is swapped under a mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/grants.h"
#include "auth/jwks.h"
#include "auth/jwt_verifier.h"

namespace sb::auth {

// One mapping rule: when the token's claim `claim` holds `value`, the grants
// below are added. A claim holds a value when it is a string equal to it, a
// space-separated string with it as one word (OAuth `scope`), or an array with
// it as one element. `claim` may name a nested member with dots
// ("realm_access.roles"). Rules combine: rooms are the union of every
// matching rule's rooms; a flag is true when a matching rule sets it true,
// else false when a matching rule sets it false, else its default (publish,
// subscribe and data true, admin false).
struct GrantRule {
  std::string claim;
  std::string value;
  std::vector<std::string> rooms;
  std::optional<bool> publish, subscribe, data, admin;
};

struct OidcConfig {
  std::string issuer;    // exact `iss`; also where discovery starts
  std::string audience;  // required in `aud` when not empty
  int64_t leeway_s = 30;
  std::vector<GrantRule> grants;
};

// Applies `rules` to the claims of a token (a JSON object text). Pure.
Grants map_grants(const std::vector<GrantRule>& rules, std::string_view claims_json);

// The `iss` claim of a compact JWS, without verifying anything; empty when
// there is none or the token is not readable. Cost: one base64 decode and JSON
// parse of the payload.
std::string peek_issuer(std::string_view token);

class OidcVerifier {
 public:
  explicit OidcVerifier(OidcConfig cfg);

  const OidcConfig& config() const { return cfg_; }

  // Replaces the key set (any thread).
  void set_keys(std::shared_ptr<const Jwks> keys);
  std::shared_ptr<const Jwks> keys() const;

  // Verifies `token` at `now` (unix seconds). `unknown_kid`, when given, is set
  // when the only problem so far is a kid missing from the current key set.
  // Cost: decode and parse of header and payload, one RSA/ECDSA verification.
  VerifyResult verify(std::string_view token, int64_t now, bool* unknown_kid = nullptr) const;

 private:
  OidcConfig cfg_;
  mutable std::mutex mu_;
  std::shared_ptr<const Jwks> keys_;
};

// Where a fresh key set comes from (service/oidc_keys.h). refetch() asks for
// the JWKS again because a token named an unknown kid; `done` is called, on
// some other thread, once that fetch is over — or soon without a fetch when
// the rate limit forbids one. Never blocks.
class KeyRefresher {
 public:
  virtual ~KeyRefresher() = default;
  virtual void refetch(std::function<void()> done) = 0;
};

}  // namespace sb::auth
