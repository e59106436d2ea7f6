// service/ice_api.h — GET /v1/ice-servers: the ICE servers for a token's user.
//
// `Authorization: Bearer <token>` with a token the server accepts (the same
// tokens as `hello`); the answer is the list `welcome.ice_servers` carries,
// with fresh TURN credentials for the token's `sub`:
//   200 {"ice_servers":[RTCIceServer...],"expires_at":<unix s>|null}
//   401 {"error":{"code":"unauthorized","message":...}} without or with a bad token
//   405 for any method but GET/HEAD
// A pure function of the request, the configuration, the verifier and the time.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "auth/jwt_verifier.h"
#include "auth/turn_credentials.h"
#include "service/http_routes.h"

namespace sb::service {

// Verifies a bearer token at `now` (unix seconds), as `hello` does.
using TokenCheck = std::function<auth::VerifyResult(std::string_view token, int64_t now)>;

// Cost: one token verification and one HMAC-SHA1 per TURN server.
Response ice_servers_response(const Request& req, const auth::IceConfig& ice, const TokenCheck& verify,
                              int64_t now);

}  // namespace sb::service
