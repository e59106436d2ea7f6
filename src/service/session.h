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
#include "routing/replay_buffer.h"
#include "rtc/room_directory.h"

namespace sb::service {

class Session;

// A connection carrying a session whose protocol state lives on its home loop
// (a resumed session, see service/resumed_session.h), possibly another loop
// than the connection's. Every call is made on the transport's own loop.
class Transport {
 public:
  virtual ~Transport() = default;
  // The connection itself, as a not yet authenticated session.
  virtual Session& session() = 0;
  // A resume is on its way to `home`: input stops being read until attached()
  // or refused(); afterwards input frames go to the session on `home` under `ticket`.
  virtual void forward_to(uint32_t home, const SessionId& session, uint64_t ticket) = 0;
  // The session is attached: reading resumes and every input frame is forwarded.
  virtual void attached() = 0;
  // The resume was refused: the connection is a plain session again (not
  // authenticated) and reading resumes.
  virtual void refused() = 0;
  // Writes a frame the home loop already gave its seq.
  virtual void write(const routing::Body& body, uint64_t seq) = 0;
  // Sends what is queued, then closes with `code`.
  virtual void end(uint16_t code, std::string_view reason) = 0;
};

class Session : public routing::Endpoint {
 public:
  explicit Session(uint32_t shard) : shard_(shard) {}

  const PeerId& peer_id() const override { return peer_; }
  bool in_room(const RoomId& room) const override {
    return std::find(rooms_.begin(), rooms_.end(), room) != rooms_.end();
  }
  // A relay to this session in `room` is refused (forbidden) when it is an
  // offer and the token lacks `subscribe`, or when both sender and this session
  // are viewers of a broadcast room. O(rooms of this session).
  routing::Admission admit(const RoomId& room, const routing::Relay& frame) const override {
    if (!in_room(room)) return {routing::Admission::absent, {}};
    if (frame.type == proto::MsgType::offer && !identity_.grants.subscribe)
      return {routing::Admission::forbidden, "recipient is missing grant: subscribe"};
    if (!rtc::in_contact(/*broadcast=*/true, !frame.from_viewer, !viewer_in(room)))  // both viewers
      return {routing::Admission::forbidden, "broadcast room: a viewer may signal only publishers"};
    return {routing::Admission::ok, {}};
  }
  // True when this session is a viewer (not a publisher) of broadcast room `room`.
  bool viewer_in(const RoomId& room) const {
    return viewer_in_ && std::find(viewer_in_->begin(), viewer_in_->end(), room) != viewer_in_->end();
  }

  // Queues a complete server frame body (without seq). Never blocks.
  void send(std::string body) { deliver(std::make_shared<const std::string>(std::move(body))); }

  // Sends what is queued, then closes the connection with `code`. Further input is ignored.
  virtual void close(uint16_t code, std::string_view reason) = 0;

  // Stops taking input frames until resume_input(): a join waits for the
  // cluster, and what the client sends next must see its outcome. The
  // default (tests without loops) does nothing.
  virtual void pause_input() {}
  virtual void resume_input() {}

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
  // `access_token` from the upgrade URL; empty when none was given or once hello is answered.
  std::string_view query_token() const {
    return rare_ ? std::string_view(rare_->query_token) : std::string_view();
  }
  std::string_view remote() const { return remote_; }
  // The seq of the last frame stamped for this session (0: none yet).
  uint64_t last_seq() const { return seq_; }
  // This connection as a transport for a session homed elsewhere; empty when it cannot be one.
  virtual std::weak_ptr<Transport> transport() { return {}; }

 protected:
  // Gives `body` the session's next seq and keeps it for replay (when resume
  // is on); returns the seq. O(1).
  uint64_t stamp(const routing::Body& body) {
    replay_.push(++seq_, body);
    if (log_) log_->append(peer_, seq_, body);
    return seq_;
  }

  // Kept out of line only when there is one (most clients send the token in hello).
  void set_query_token(std::string token) {
    if (!token.empty()) rare().query_token = std::move(token);
  }

  std::string remote_;  // remote address, for logs

 private:
  friend class Hub;
  friend class ResumedSession;
  uint32_t shard_;
  bool authenticated_ = false;
  bool hello_pending_ = false;  // hello waits for a JWKS refetch (unknown kid)
  PeerId peer_;
  SessionId session_;
  auth::Identity identity_;
  std::vector<RoomId> rooms_;
  // The broadcast rooms of rooms_ where this session is a viewer; null when
  // none (most sessions: 8 bytes instead of an empty vector's 24).
  std::unique_ptr<std::vector<RoomId>> viewer_in_;
  void add_viewer_room(const RoomId& room) {
    if (!viewer_in_) viewer_in_ = std::make_unique<std::vector<RoomId>>();
    viewer_in_->push_back(room);
  }
  void drop_viewer_room(const RoomId& room) {
    if (!viewer_in_) return;
    std::erase(*viewer_in_, room);
    if (viewer_in_->empty()) viewer_in_.reset();
  }
  // Session resume: the seq counter, the recent frames and the secret that
  // resumes them. Move to a ResumedSession when the connection goes.
  uint64_t seq_ = 0;
  routing::ReplayBuffer replay_;
  SmallString resume_token_;           // 22 characters: inline
  routing::ReplayLog* log_ = nullptr;  // cluster mode: every stamped frame is also stored there

  // What few sessions need, out of line and allocated on first use, so that an
  // idle connection does not carry ~100 bytes of it.
  struct Rare {
    std::string query_token;             // see query_token()
    RoomId joining;                      // cluster mode: a join waiting for the cluster (input is paused)
    std::function<void()> release_done;  // cluster mode: handed over to another node at disconnect
    // Bad-request budget: bad_request_limit within bad_request_window_s closes with 4400.
    unsigned bad_requests = 0;
    std::chrono::steady_clock::time_point bad_window_start{};
    bool unused() const {
      return query_token.empty() && joining.empty() && !release_done && bad_requests == 0;
    }
  };
  Rare& rare() {
    if (!rare_) rare_ = std::make_unique<Rare>();
    return *rare_;
  }
  // Frees the rare state once nothing in it is in use (after hello, after a cluster join). O(1).
  void trim_rare() {
    if (rare_ && rare_->unused()) rare_.reset();
  }
  const RoomId* joining() const { return rare_ && !rare_->joining.empty() ? &rare_->joining : nullptr; }
  bool releasing() const { return rare_ && rare_->release_done; }
  std::unique_ptr<Rare> rare_;
};

}  // namespace sb::service
