// bench/jwt_mint.h — mints the HS256 tokens the load generator logs in with.
//
// The generator signs its own tokens from --secret so a run needs no token
// service and every connection can be a distinct user, as in real traffic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sb::bench {

// A compact JWT {alg: HS256} for `sub`, valid from `now` for `ttl_s` seconds,
// granting every room (grants.rooms = ["*"]).
std::string mint_hs256(std::string_view secret, std::string_view sub, int64_t now, int64_t ttl_s);

// base64url without padding (RFC 7515 §2).
std::string base64url(std::string_view bytes);

}  // namespace sb::bench
