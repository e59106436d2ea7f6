// service/hub.h — protocol v1 semantics: what each client message does.
//
// The Hub turns parsed messages into directory changes, replies and events.
// It is called on the session's own event loop. The room directory is the only
// state shared between loops; it is touched on join, leave, update and
// disconnect (never on relay), under one mutex, and the membership events a
// change causes are handed to the bus while that mutex is held, so every peer
// sees membership changes in one global order. Relays never take the lock: the
// sender's own room list and the recipient's (checked on its loop) suffice.
//
// Operators act on rooms through RoomAdmin (the admin API, on whichever loop
// took the HTTP request): the directory changes at once under the lock; each
// evicted peer is told on its own loop, where its session drops the room
// unless it has since left and joined again (a new membership).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "auth/jwt_verifier.h"
#include "auth/oidc_verifier.h"
#include "auth/turn_credentials.h"
#include "core/fifo.h"
#include "proto/parser.h"
#include "routing/cluster.h"
#include "routing/local_bus.h"
#include "routing/resume_store.h"
#include "rtc/room_directory.h"
#include "service/metrics.h"
#include "service/resumed_session.h"
#include "service/room_admin.h"
#include "service/room_config.h"
#include "service/room_events.h"
#include "service/session.h"

namespace sb::service {

class AuditSink;

struct HubConfig {
  unsigned heartbeat_s = 20;
  size_t max_room_peers = 50;
  unsigned bad_request_limit = 20;  // within bad_request_window_s, closes with 4400
  unsigned bad_request_window_s = 10;
  auth::IceConfig ice;             // welcome.ice_servers: STUN urls and TURN credentials minted per session
  int64_t token_leeway_s = 30;     // same leeway as token verification
  size_t max_rooms_per_conn = 16;  // 0: unlimited
  // Room kinds: the cap of a broadcast room, and the named-room configuration
  // (see service/room_config.h).
  size_t max_broadcast_peers = 10000;
  std::vector<NamedRoom> named_rooms;
  // Session resume: how long a dropped session waits to be resumed (0: off), and
  // the bounds of each session's replay buffer.
  unsigned resume_window_s = 30;
  size_t resume_buffer_messages = 1000;
  size_t resume_buffer_bytes = 1024 * 1024;
};

class Hub final : public RoomAdmin {
 public:
  // `metrics` must have one block per shard of `bus`. `events` may be null.
  Hub(HubConfig cfg, const auth::JwtVerifier& verifier, routing::LocalBus& bus, Metrics& metrics,
      RoomEventSink* events = nullptr);

  // Accepts OpenID Connect tokens whose `iss` is `oidc`'s issuer, verified by
  // `oidc`; `keys` (may be null) refetches the JWKS on an unknown kid. Call
  // before the first session; both must outlive the Hub.
  void set_oidc(const auth::OidcVerifier* oidc, auth::KeyRefresher* keys) {
    oidc_ = oidc;
    keys_ = keys;
  }

  // Cluster mode: room membership goes through `cluster` (Redis), which must
  // outlive the Hub. Call before the cluster starts and before the first session.
  void set_cluster(routing::Cluster* cluster);
  bool clustered() const { return cluster_ != nullptr; }

  // Verifies a token as hello does, without waiting: an OpenID token goes to
  // the OIDC verifier (an unknown kid starts a background JWKS refetch and is
  // refused now), any other to the server's own JwtVerifier. Any thread.
  auth::VerifyResult verify_token(std::string_view token, int64_t now) const;

  // Handles one valid message from `s`, received at `received_at` (relay
  // latency is measured from it). Cost: relay O(1) plus delivery;
  // join/leave/update under the directory lock: O(room size) for a meeting
  // room or a broadcast publisher, O(publishers) events for a broadcast viewer
  // (plus the directory's O(members after it) re-index on leave).
  //
  // Grants (auth::Grants) are enforced here and in Session::admit: `rooms` on
  // join; `publish` on sending an offer; `subscribe` on receiving an offer;
  // `data` on sending a message. Each denial is `forbidden` naming the grant.
  void handle(Session& s, const proto::ClientMessage& m,
              routing::Clock::time_point received_at = routing::Clock::now());

  // Reports a frame that failed to parse; counts it against the bad-request budget.
  void reject(Session& s, const proto::ParseError& e);

  // The connection is gone. When `resumable` and resume is on, the session is
  // parked (kept, with its rooms, for the resume window; others see nothing);
  // otherwise it leaves every room (peer-left, reason "disconnected") and is
  // unregistered from its shard. O(rooms); O(room size) per room left.
  void disconnect(Session& s, bool resumable = false);

  // --- Session resume: calls from a connection that carries a session homed on
  // loop `home` (Transport), made on the connection's loop; each runs on `home`,
  // and does nothing unless `ticket` is still the session's current one.

  // An input frame (a copy) for the session: parsed and handled on `home`.
  void forward_input(uint32_t home, const SessionId& session, uint64_t ticket, std::string frame,
                     routing::Clock::time_point received_at);
  // A frame the connection itself wants to send (e.g. rate-limited): stamped on `home`.
  void forward_deliver(uint32_t home, const SessionId& session, uint64_t ticket, routing::Body body);
  // Sends `notice` (if any) through the session, then closes the connection with `code`.
  void forward_end(uint32_t home, const SessionId& session, uint64_t ticket, routing::Body notice,
                   uint16_t code, std::string reason);
  // The connection is gone: park the session (`resumable`) or end it.
  void transport_closed(uint32_t home, const SessionId& session, uint64_t ticket, bool resumable);

  // On loop `shard`, about once a second: ends the sessions of that loop parked
  // for longer than the resume window (peer-left "disconnected") and enforces
  // token expiry on the resumed ones. O(resumed sessions on the loop).
  void sweep(uint32_t shard, routing::Clock::time_point now);

  // Sessions registered for resume (all loops); parked or resumed sessions on `shard`.
  size_t resumable_count() const { return local_store_.size(); }
  size_t resumed_count(uint32_t shard) const { return resumed_[shard].size(); }

  // Ends `s` when its token has expired (error token-expired, close 4401).
  // Called by the session's deadline sweep with the wall-clock time.
  void check_expiry(Session& s, int64_t now_unix);

  size_t room_count();
  size_t peer_count();

  // Token rejections, refreshes and join denials go to `audit` (may be null). Call before serving.
  void set_audit(AuditSink* audit) { audit_ = audit; }

  // RoomAdmin
  std::vector<RoomInfo> rooms() override;
  std::optional<RoomInfo> room(const RoomId& room) override;
  std::optional<std::vector<PeerInfo>> peers(const RoomId& room) override;
  AdminStatus create_room(const RoomId& room, rtc::RoomConfig cfg, RoomInfo& out) override;
  AdminStatus set_room_metadata(const RoomId& room, std::string metadata, RoomInfo& out) override;
  AdminStatus close_room(const RoomId& room) override;
  AdminStatus kick(const RoomId& room, const PeerId& peer, std::string_view reason) override;
  AdminStatus send(const RoomId& room, const std::optional<PeerId>& to, std::string_view data,
                   size_t& recipients) override;

 private:
  void hello(Session& s, const proto::ClientMessage& m);
  // The server's own tokens (JwtVerifier), with an OpenID-aware wrong-issuer reason.
  auth::VerifyResult verify_own(std::string_view token, int64_t now) const;
  // The end of hello once the token is judged: welcome, or error and close 4401.
  // `m` is the hello (its id, and its resume fields).
  void finish_hello(Session& s, const proto::ClientMessage& m, auth::VerifyResult r);
  // hello with `resume`: when the store knows the session for this user and
  // secret, asks its home loop to hand it over (attach) and returns true; the
  // connection's input waits meanwhile. False: start a new session.
  bool try_resume(Session& s, const proto::ClientMessage& m, const auth::Identity& id);
  struct AttachRequest;
  // On the home loop: hands the session over to the new connection (or refuses).
  void attach(const std::shared_ptr<AttachRequest>& req);
  // Puts `p` (on this, its home loop) on the request's connection: the frames
  // after last_seq written there first (behind forward_to when it is not yet
  // forwarding), then welcome {resumed: true}. Returns how many were replayed.
  size_t reattach(ResumedSession& p, const AttachRequest& req, bool forward);
  // On the new connection's loop: refuses a resume; the hello starts a new session.
  void refuse_resume(const std::shared_ptr<AttachRequest>& req, std::string_view why);
  // Cluster mode, hello with `resume` for a session this node does not hold:
  // the cluster takes it over from its node (service side of
  // routing::Cluster::take_session); the connection's input waits meanwhile.
  bool take_over(Session& s, const std::shared_ptr<AttachRequest>& req);
  // On the session's loop: installs a session taken over from another node and
  // attaches the new connection: the stored frames after last_seq, welcome, then
  // what arrived meanwhile.
  void adopt(const std::shared_ptr<AttachRequest>& req, routing::Cluster::Taken taken);
  // On the session's loop (cluster): lets the session of `peer` go to another
  // node, nobody told; then `done`. A connection still open is closed with 4409
  // first, and what it delivers until its close completes is handled: the
  // session lets go at its disconnect, so its stored log is complete.
  void release(uint32_t home, const PeerId& peer, const SessionId& session, std::function<void()> done);
  // The removal itself (the connection is gone or parked).
  void finish_release(uint32_t home, Session& s);
  // The session ended for good: it can no longer be resumed, here or elsewhere.
  void forget_session(const Session& s);
  // On the session's loop: moves its state (ids, rooms, seq, replay buffer) from
  // `from` to `to`, which takes its place in the shard table.
  void move_session(Session& from, Session& to);
  // On the home loop: ends a resumed/parked session for good (peer-left `reason`).
  void end_session(uint32_t home, const SessionId& session, std::string_view reason);
  ResumedSession* resumed(uint32_t home, const SessionId& session, uint64_t ticket);
  bool resume_on() const { return cfg_.resume_window_s > 0; }
  void refresh(Session& s, const proto::ClientMessage& m);
  void join(Session& s, const proto::ClientMessage& m);
  // Cluster mode: the join goes to Redis; the session's input waits for the answer.
  void cluster_join(Session& s, std::string_view id, const RoomId& room, rtc::Member me,
                    rtc::RoomConfig created);
  void finish_cluster_join(Session& s, std::string_view id, const RoomId& room,
                           const routing::Cluster::JoinResult& r);
  // Removes `room` from the session and its shard table (no directory change, no event).
  void drop_room(Session& s, const RoomId& room);
  // On `home`: handles the input frames a resumed session held while paused.
  void drain_held(uint32_t home, const SessionId& session);
  void leave(Session& s, const proto::ClientMessage& m);
  void update(Session& s, const proto::ClientMessage& m);
  void relay(Session& s, const proto::ClientMessage& m, routing::Clock::time_point received_at);
  void error(Session& s, std::string_view id, proto::ErrorCode code, std::string_view message);
  void auth_failed(Session& s, auth::TokenError e);
  // One audit line about `s`, if an audit sink is set.
  void audit(const Session& s, std::string_view event, std::string_view outcome, std::string_view reason,
             std::string_view room = {});
  // Removes s from `room` and tells the others why. Caller holds mu_. Always
  // drops the room from the session, even when the directory no longer lists
  // it there (an operator evicted it and the notice is still on its way).
  void leave_locked(Session& s, const RoomId& room, std::string_view reason);
  // On the evicted peer's loop: drops `room` from `peer`'s session and sends
  // `notice`, unless the session left the room meanwhile or is in it again by
  // a later join. Takes mu_.
  void evicted(uint32_t home, const PeerId& peer, const RoomId& room, const routing::Body& notice);
  // Reports an event to the sink, if any. Caller holds mu_.
  void emit(RoomEventType type, const rtc::Room& room, const rtc::Member* peer, std::string_view reason);
  static RoomInfo info(const rtc::Room& r);

  HubConfig cfg_;
  const auth::JwtVerifier& verifier_;
  const auth::OidcVerifier* oidc_ = nullptr;
  auth::KeyRefresher* keys_ = nullptr;
  routing::LocalBus& bus_;
  routing::Cluster* cluster_ = nullptr;
  Metrics& metrics_;
  RoomEventSink* events_;
  AuditSink* audit_ = nullptr;
  std::mutex mu_;
  rtc::RoomDirectory directory_;
  // Session resume. The store is shared by all loops (thread-safe); each loop's
  // map of resumed sessions and its parser are touched only by that loop.
  routing::LocalResumeStore local_store_;
  routing::ResumeStore& store_ = local_store_;
  std::vector<std::unordered_map<SessionId, std::shared_ptr<ResumedSession>>> resumed_;
  // Per loop, for the sweep: the parked sessions in the order they were
  // parked (one window for all, so the front is the first to expire), and the
  // resumed sessions a connection carries (whose token expiry is checked). The
  // sweep touches what expires and what is carried, never every parked
  // session. Walking them all stalled the loop once a second: with ~100,000
  // parked (left by a join storm whose clients drop their connections), a
  // relay at 1,000 msgs/s had a p99 of 14-16 ms and stalls of up to 31 ms;
  // with the queue, 0.1-0.15 ms and 2 ms (docs/performance.md).
  struct Parked {
    routing::Clock::time_point since;
    SessionId id;
  };
  std::vector<Fifo<Parked>> park_order_;
  std::vector<std::unordered_set<SessionId>> carried_;
  // Parks `p` (of `id`, on `home`) now and queues its expiry. O(1).
  void park(uint32_t home, const SessionId& id, ResumedSession& p);
  std::vector<std::unique_ptr<proto::Parser>> parsers_;
  std::atomic<uint64_t> next_ticket_{1};
};

}  // namespace sb::service
