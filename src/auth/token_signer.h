// auth/token_signer.h — signing the tokens this server issues.
//
// One signing key per server: the HS256 secret (shared with the verifier), or
// an EC P-256 private key (ES256, RFC 7518 §3.4). With ES256 the matching public
// key is handed to the verifier, so the server accepts the tokens it issues and
// anyone holding only the public key can verify them too.
// Thread safety: sign() is const and may run on any thread at once.
#pragma once

#include <memory>
#include <string>

#include "auth/jwt_verifier.h"

namespace sb::auth {

class TokenSigner {
 public:
  // HS256 with `secret`. Throws std::invalid_argument when the secret is empty.
  static TokenSigner hs256(std::string secret);
  // ES256 with the EC P-256 private key in `pem` (PKCS#8 or SEC1 "EC PRIVATE
  // KEY"). Throws std::invalid_argument when it is not a P-256 private key.
  static TokenSigner es256(const std::string& pem);

  TokenSigner(TokenSigner&&) noexcept;
  TokenSigner& operator=(TokenSigner&&) noexcept;
  ~TokenSigner();

  // The compact JWS for `spec`. Cost: HS256 one HMAC (~2 µs); ES256 one ECDSA
  // signature (~30 µs). Throws std::runtime_error if the crypto library fails.
  std::string sign(const TokenSpec& spec) const;

  // "HS256" or "ES256".
  const char* alg() const;
  // ES256: the public key as PEM (SubjectPublicKeyInfo), for the verifier. HS256: empty.
  const std::string& public_key_pem() const;

 private:
  struct Impl;
  explicit TokenSigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::auth
