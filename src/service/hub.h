// service/hub.h — protocol v1 semantics: what each client message does.
//
// The Hub turns parsed messages into directory changes, replies and events.
// It is called on the session's own event loop. The room directory is the only
// state shared between loops; it is touched on join, leave, update and
// disconnect (never on relay), under one mutex, and the membership events a
// change causes are handed to the bus while that mutex is held, so every peer
// sees membership changes in one global order. Relays never take the lock: the
// sender's own room list and the recipient's (checked on its loop) suffice.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "auth/jwt_verifier.h"
#include "proto/parser.h"
#include "routing/local_bus.h"
#include "rtc/room_directory.h"
#include "service/session.h"

namespace sb::service {

struct HubConfig {
  unsigned heartbeat_s = 20;
  size_t max_room_peers = 50;
  unsigned bad_request_limit = 20;  // within bad_request_window_s, closes with 4400
  unsigned bad_request_window_s = 10;
  std::string ice_servers_json = "[]";
  int64_t token_leeway_s = 30;     // same leeway as token verification
  size_t max_rooms_per_conn = 16;  // 0: unlimited
};

class Hub {
 public:
  Hub(HubConfig cfg, const auth::JwtVerifier& verifier, routing::LocalBus& bus);

  // Handles one valid message from `s`. Cost: relay O(1) plus delivery;
  // join/leave/update O(room size) under the directory lock.
  void handle(Session& s, const proto::ClientMessage& m);

  // Reports a frame that failed to parse; counts it against the bad-request budget.
  void reject(Session& s, const proto::ParseError& e);

  // The connection is gone: leaves every room (peer-left, reason "disconnected")
  // and unregisters the session from its shard.
  void disconnect(Session& s);

  // Ends `s` when its token has expired (error token-expired, close 4401).
  // Called by the session's deadline sweep with the wall-clock time.
  void check_expiry(Session& s, int64_t now_unix);

  size_t room_count();
  size_t peer_count();

 private:
  void hello(Session& s, const proto::ClientMessage& m);
  void refresh(Session& s, const proto::ClientMessage& m);
  void join(Session& s, const proto::ClientMessage& m);
  void leave(Session& s, const proto::ClientMessage& m);
  void update(Session& s, const proto::ClientMessage& m);
  void relay(Session& s, const proto::ClientMessage& m);
  void error(Session& s, std::string_view id, proto::ErrorCode code, std::string_view message);
  // Removes s from `room` and tells the others why. Caller holds mu_.
  void leave_locked(Session& s, const RoomId& room, std::string_view reason);

  HubConfig cfg_;
  const auth::JwtVerifier& verifier_;
  routing::LocalBus& bus_;
  std::mutex mu_;
  rtc::RoomDirectory directory_;
};

}  // namespace sb::service
