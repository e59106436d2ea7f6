// auth/jwks.h — JSON Web Key Sets (RFC 7517) and JWS signature checks with OpenSSL.
//
// Keys come from an OpenID provider's `jwks_uri`. Only signature keys we can
// use are kept: RSA (RS256, modulus of 2048 bits or more) and EC on P-256
// (ES256); keys with `use` other than "sig", other key types or curves, or a
// declared `alg` other than the one their type allows are skipped. Each key is
// turned into an OpenSSL EVP_PKEY once (EVP_PKEY_fromdata), so verifying costs
// only the RSA or ECDSA arithmetic.
// A Jwks is immutable after parse(); share it across threads freely.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using EVP_PKEY = struct evp_pkey_st;

namespace sb::auth {

enum class JwsAlg { rs256, es256 };

const char* to_string(JwsAlg a);

struct Jwk {
  std::string kid;  // may be empty
  JwsAlg alg = JwsAlg::rs256;
  std::shared_ptr<EVP_PKEY> key;
};

struct Jwks {
  std::vector<Jwk> keys;

  // Parses a JWK Set document (`{"keys":[...]}`). Returns nullopt with `error`
  // set when the text is not such a document; unusable keys are skipped and
  // counted in `skipped`. Cost: one JSON parse and one key import per key.
  static std::optional<Jwks> parse(std::string_view text, std::string& error, size_t* skipped = nullptr);

  // The key for a token's header: by `kid` when the token has one; without a
  // `kid`, the only key of `alg` (none when there are several). Null when none.
  const Jwk* find(std::string_view kid, bool has_kid, JwsAlg alg) const;
};

// Checks a JWS signature (RFC 7515/7518): RS256 is RSASSA-PKCS1-v1_5 with
// SHA-256; ES256 is ECDSA P-256 with SHA-256 and the signature as raw R||S (64
// bytes). Cost: one RSA or ECDSA verification.
bool verify_jws(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input, std::string_view signature);

}  // namespace sb::auth
