// auth/base64url.h — the base64url of JWS (RFC 7515 §2): no padding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sb::auth {

// Decodes unpadded base64url strictly: no padding, no whitespace, and the
// unused low bits of the last character must be zero. Every byte string thus
// has exactly one accepted spelling, so a signature cannot be re-encoded into a
// second valid token. Linear in the input.
std::optional<std::string> b64url_decode(std::string_view in);

// Encodes unpadded base64url, the only spelling b64url_decode accepts. Linear.
std::string b64url_encode(std::string_view in);

}  // namespace sb::auth
