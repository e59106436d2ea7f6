// auth/turn_credentials.h — time-limited TURN credentials and the ICE server list.
//
// TURN servers that share a secret with Switchboard (coturn's "TURN REST API",
// `use-auth-secret` + `static-auth-secret`) accept any credential of the form
//   username   = "<expiry unix time>:<user>"
//   credential = base64(HMAC-SHA1(secret, username))
// until the expiry time. The server never stores such credentials: it
// recomputes the HMAC from the username the client presents. Each client thus
// gets credentials bound to its own user id that stop working after `ttl_s`.
// Pure functions, no I/O; thread safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace sb::auth {

struct TurnServer {
  std::vector<std::string> urls;  // "turn:host:3478?transport=udp", "turns:host:5349", ...
  std::string secret;             // the TURN server's static-auth-secret
};

struct IceConfig {
  std::vector<std::string> stun_urls;  // plain STUN, handed out without credentials
  std::vector<TurnServer> turn;
  int64_t turn_ttl_s = 3600;  // lifetime of the TURN credentials

  bool empty() const { return stun_urls.empty() && turn.empty(); }
};

// "<expires_at>:<user>". Cost: O(length of user).
std::string turn_username(int64_t expires_at, const UserId& user);

// base64(HMAC-SHA1(secret, username)) with padding, as coturn computes it.
// Cost: one HMAC-SHA1 over the username.
std::string turn_password(std::string_view secret, std::string_view username);

struct IceServers {
  std::string json;        // JSON array of RTCIceServer objects: `[]` when nothing is configured
  int64_t expires_at = 0;  // when the TURN credentials stop working; 0 without TURN servers
};

// The RTCIceServer list for `user` at `now`: one `{"urls":[...]}` entry with
// every STUN URL (when any), then one `{"urls":[...],"username","credential"}`
// entry per TURN server, all with the same expiry `now + turn_ttl_s`. Cost: one
// HMAC-SHA1 per TURN server plus the JSON text.
IceServers ice_servers_for(const IceConfig& cfg, const UserId& user, int64_t now);

}  // namespace sb::auth
