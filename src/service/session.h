// service/session.h — one client's signaling session, transport-free.
//
// What the Hub needs from a connection: its state (identity, peer id, rooms)
// and two actions, send and close. WsSession implements it over a WebSocket;
// unit tests implement it with a vector of frames.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_verifier.h"
#include "routing/bus.h"

namespace sb::service {

class Session : public routing::Endpoint {
 public:
  explicit Session(uint32_t shard) : shard_(shard) {}

  const PeerId& peer_id() const override { return peer_; }
  bool in_room(const RoomId& room) const override {
    return std::find(rooms_.begin(), rooms_.end(), room) != rooms_.end();
  }

  // Queues a complete server frame body (without seq). Never blocks.
  void send(std::string body) { deliver(std::make_shared<const std::string>(std::move(body))); }

  // Sends what is queued, then closes the connection with `code`. Further input is ignored.
  virtual void close(uint16_t code, std::string_view reason) = 0;

  // For work finished on another thread (a key fetch): returns a callable that
  // any thread may call once; it runs `fn` on this session's own event loop,
  // unless the session is closing or gone by then. The default (tests without
  // loops) runs `fn` at once on the calling thread.
  virtual std::function<void()> resumer(std::function<void(Session&)> fn) {
    return [this, fn = std::move(fn)] { fn(*this); };
  }

  uint32_t shard() const { return shard_; }
  bool authenticated() const { return authenticated_; }
  const auth::Identity& identity() const { return identity_; }
  const SessionId& session_id() const { return session_; }
  const std::vector<RoomId>& rooms() const { return rooms_; }
  const std::string& query_token() const { return query_token_; }
  std::string_view remote() const { return remote_; }

 protected:
  std::string query_token_;  // `access_token` from the upgrade URL
  std::string remote_;       // remote address, for logs

 private:
  friend class Hub;
  uint32_t shard_;
  bool authenticated_ = false;
  bool hello_pending_ = false;  // hello waits for a JWKS refetch (unknown kid)
  PeerId peer_;
  SessionId session_;
  auth::Identity identity_;
  std::vector<RoomId> rooms_;
  // Bad-request budget: kBadRequestLimit within kBadRequestWindow closes with 4400.
  unsigned bad_requests_ = 0;
  std::chrono::steady_clock::time_point bad_window_start_{};
};

}  // namespace sb::service
