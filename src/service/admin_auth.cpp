#include "service/admin_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace sb::service {

namespace {
std::string sha256(std::string_view s) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  const std::string da = sha256(a), db = sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

AdminAuth::AdminAuth(std::string api_key, const auth::JwtVerifier* verifier)
    : has_key_(!api_key.empty()), key_digest_(sha256(api_key)), verifier_(verifier) {}

AdminAuthOutcome AdminAuth::check(std::string_view authorization, int64_t now_unix) const {
  // "Bearer <credential>", scheme case-insensitive, surrounding spaces ignored.
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  authorization = trim(authorization);
  if (authorization.empty()) return {AdminAuthResult::missing, "missing Authorization: Bearer header"};
  const auto sp = authorization.find(' ');
  if (sp == std::string_view::npos || !iequals(authorization.substr(0, sp), "bearer"))
    return {AdminAuthResult::missing, "the Authorization scheme must be Bearer"};
  const std::string_view credential = trim(authorization.substr(sp + 1));
  if (credential.empty()) return {AdminAuthResult::missing, "empty bearer credential"};

  if (has_key_) {
    const std::string d = sha256(credential);
    if (CRYPTO_memcmp(d.data(), key_digest_.data(), d.size()) == 0) return {AdminAuthResult::ok, "api key"};
  }
  if (!verifier_ && !token_check_) return {AdminAuthResult::invalid, "invalid API key"};
  auth::VerifyResult r =
      token_check_ ? token_check_(credential, now_unix) : verifier_->verify(credential, now_unix);
  if (!r.identity) {
    // Something that is not a JWT at all was meant as a key.
    if (r.error == auth::TokenError::malformed)
      return {AdminAuthResult::invalid,
              has_key_ ? "invalid API key or token" : "invalid token (no API key is configured)"};
    return {AdminAuthResult::invalid, std::string("invalid token: ") + auth::to_string(r.error)};
  }
  if (!r.identity->grants.admin)
    return {AdminAuthResult::forbidden, "the token does not grant admin (grants.admin must be true)"};
  return {AdminAuthResult::ok, "token of " + r.identity->user.string()};
}

}  // namespace sb::service
