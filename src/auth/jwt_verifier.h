// auth/jwt_verifier.h — verifying access tokens (JWS compact form).
//
// RS256 and ES256 signatures are checked by libjwt, HS256 ones by OpenSSL's HMAC
// directly (libjwt's way costs ~80,000 instructions a token: see Hs256Key in the
// .cpp); everything else (which key, which alg,
// every claim) is checked here, because a JWT library's defaults are where the
// classic attacks live:
//  - the header's `alg` must be HS256, RS256 or ES256 AND a key of exactly that
//    kind must be configured: `none` is always rejected, and an HS256 token is
//    only ever checked against the HS256 secret, never against a PEM public key
//    (the "HS256 signed with the RSA public key" confusion);
//  - `exp` is required; `nbf`, `iss` (when configured) and `aud` (when
//    configured; string or array) are checked with `leeway_s` of clock skew;
//  - `sub` is required and non-empty: it is the user id.
// Thread safety: verify() is const and may run on every shard at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/grants.h"
#include "core/ids.h"
#include "core/thin_string.h"

namespace sb::auth {

struct VerifierConfig {
  std::string hs256_secret;                  // empty: HS256 tokens are rejected
  std::vector<std::string> public_key_pems;  // PEM text of RSA (RS256) or EC P-256 (ES256) public keys
  std::string issuer;                        // empty: `iss` not checked
  std::string audience;                      // empty: `aud` not checked
  int64_t leeway_s = 30;
};

enum class TokenError {
  none,
  malformed,        // not three base64url parts, or header/payload not JSON objects
  unsupported_alg,  // alg none, or any alg other than HS256/RS256/ES256
  no_key,           // no configured key for the token's alg
  bad_signature,
  expired,        // exp + leeway <= now
  not_yet_valid,  // nbf - leeway > now
  wrong_issuer,
  wrong_audience,
  missing_claim,  // exp or sub absent
  bad_claim,      // a claim of the wrong type (e.g. exp not a number, grants not an object)
};

// Stable lower-case names, used in logs and metrics ("expired", "bad-signature", ...).
const char* to_string(TokenError e);

// Every session keeps its identity for its lifetime: the texts most tokens
// lack are ThinStrings (8 bytes, no block while empty).
struct Identity {
  UserId user;                  // `sub`
  ThinString name;              // `name` claim, may be empty
  Grants grants;                // `grants` claim
  int64_t expires_at = 0;       // `exp`, unix seconds
  ThinString room_config_json;  // raw `room_config` claim (JSON object text), empty if absent
};

struct VerifyResult {
  std::optional<Identity> identity;  // set on success
  TokenError error = TokenError::none;
  std::string detail;  // human-readable reason for logs; never contains the token
};

class JwtVerifier {
 public:
  // Loads and checks the keys. Throws std::invalid_argument naming the bad
  // key when a PEM cannot be read or is neither RSA nor EC P-256.
  explicit JwtVerifier(VerifierConfig cfg);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // Verifies `token` at time `now` (unix seconds). Cost: one base64 decode and
  // JSON parse of header and payload, one signature check. Measured: HS256
  // ~5 µs; RS256 (2048) ~0.32 ms and ES256 ~0.4 ms, most of it libjwt 1.x
  // re-reading the PEM on every call (it takes no parsed key). Once per
  // connection, so ~3,000 RS/ES connects/s per core; verifying RS/ES with
  // OpenSSL keys parsed once would remove the PEM cost.
  VerifyResult verify(std::string_view token, int64_t now) const;

  bool has_keys() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Claims for a token this server mints (dev mode and the token service).
struct TokenSpec {
  UserId user;
  std::string name;
  Grants grants;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::string issuer;    // omitted when empty
  std::string audience;  // omitted when empty
};

// The JSON claims object for `spec` (sub, name, iat, exp, iss, aud, grants).
std::string token_claims_json(const TokenSpec& spec);

// Signs `spec` with HS256 and `secret`, returning the compact JWS.
std::string sign_hs256(const std::string& secret, const TokenSpec& spec);

}  // namespace sb::auth
