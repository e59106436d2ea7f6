#include "service/hub.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "auth/base64url.h"
#include "core/random.h"
#include "proto/encode.h"
#include "service/audit_log.h"

namespace sb::service {

using proto::ErrorCode;
using proto::MsgType;

namespace {
routing::Body body(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}
int64_t unix_now() {
  return static_cast<int64_t>(std::time(nullptr));
}
// A session id or resume token: 128 random bits in 22 base64url characters.
std::string new_secret() {
  return auth::b64url_encode(random_bytes(16));
}
// Where the members `m` is in contact with live, by value, so that they can
// be told after the directory has changed. O(contacts): O(publishers) for a
// broadcast viewer.
std::vector<std::pair<uint32_t, PeerId>> audience(const rtc::Room& r, const rtc::Member& m) {
  std::vector<std::pair<uint32_t, PeerId>> out;
  for (const rtc::Member* x : r.contacts(m)) out.emplace_back(x->home, x->peer);
  return out;
}
// The room without its members (for events about it). O(1) in members.
rtc::Room header(const rtc::Room& r) {
  rtc::Room h;
  h.id = r.id;
  h.max_peers = r.max_peers;
  h.kind = r.kind;
  h.metadata = r.metadata;
  h.created_at = r.created_at;
  h.persistent = r.persistent;
  return h;
}
}  // namespace

Hub::Hub(HubConfig cfg, const auth::JwtVerifier& verifier, routing::LocalBus& bus, Metrics& metrics,
         RoomEventSink* events)
    : cfg_(std::move(cfg)),
      verifier_(verifier),
      bus_(bus),
      metrics_(metrics),
      events_(events),
      directory_(rtc::RoomLimits{cfg_.max_room_peers, cfg_.max_broadcast_peers}) {
  resumed_.resize(bus_.shard_count());
  park_order_.resize(bus_.shard_count());
  carried_.resize(bus_.shard_count());
  for (uint32_t i = 0; i < bus_.shard_count(); ++i) parsers_.push_back(std::make_unique<proto::Parser>());
}

void Hub::error(Session& s, std::string_view id, ErrorCode code, std::string_view message) {
  metrics_.shard(s.shard()).errors[static_cast<size_t>(code)].inc();
  s.send(proto::error(id, code, message));
}

void Hub::auth_failed(Session& s, auth::TokenError e) {
  metrics_.shard(s.shard()).auth_failures[static_cast<size_t>(e)].inc();
}

void Hub::audit(const Session& s, std::string_view event, std::string_view outcome, std::string_view reason,
                std::string_view room) {
  if (!audit_) return;
  audit_->write(
      AuditEvent{event, outcome, reason, s.identity_.user.str(), s.peer_.str(), s.remote(), room, {}});
}

void Hub::reject(Session& s, const proto::ParseError& e) {
  error(s, e.id, e.code, e.message);
  if (e.code != ErrorCode::bad_request) return;
  const auto now = std::chrono::steady_clock::now();
  Session::Rare& r = s.rare();
  if (now - r.bad_window_start > std::chrono::seconds(cfg_.bad_request_window_s)) {
    r.bad_window_start = now;
    r.bad_requests = 0;
  }
  if (++r.bad_requests >= cfg_.bad_request_limit)
    s.close(proto::close_code::bad_request, "too many bad requests");
}

void Hub::handle(Session& s, const proto::ClientMessage& m, routing::Clock::time_point received_at) {
  metrics_.shard(s.shard()).received[static_cast<size_t>(m.type)].inc();
  if (!s.authenticated_) {
    if (m.type == MsgType::hello) return hello(s, m);
    return error(s, m.id, ErrorCode::unauthorized, "send hello with a token first");
  }
  switch (m.type) {
    case MsgType::hello: return reject(s, {ErrorCode::bad_request, "already authenticated", m.id});
    case MsgType::join: return join(s, m);
    case MsgType::leave: return leave(s, m);
    case MsgType::update: return update(s, m);
    case MsgType::ping: return s.send(proto::pong(m.id));
    case MsgType::refresh: return refresh(s, m);
    case MsgType::offer:
    case MsgType::answer:
    case MsgType::ice_candidate:
    case MsgType::message: return relay(s, m, received_at);
  }
}

auth::VerifyResult Hub::verify_own(std::string_view token, int64_t now) const {
  auth::VerifyResult r = verifier_.verify(token, now);
  // A token naming an issuer other than the OpenID one that our own verifier
  // holds no key for (or cannot read: RFC 9068 `typ: at+jwt`): most likely a
  // token of some other provider, and "wrong issuer" says more than "no key".
  if (oidc_ && (r.error == auth::TokenError::no_key || r.error == auth::TokenError::malformed)) {
    if (std::string iss = auth::peek_issuer(token); !iss.empty()) {
      r.error = auth::TokenError::wrong_issuer;
      r.detail = "iss '" + iss + "' is neither the OpenID issuer nor this server's";
    }
  }
  return r;
}

auth::VerifyResult Hub::verify_token(std::string_view token, int64_t now) const {
  if (!oidc_ || auth::peek_issuer(token) != oidc_->config().issuer) return verify_own(token, now);
  bool unknown_kid = false;
  auth::VerifyResult r = oidc_->verify(token, now, &unknown_kid);
  if (unknown_kid && keys_) keys_->refetch([] {});
  return r;
}

void Hub::hello(Session& s, const proto::ClientMessage& m) {
  if (s.hello_pending_) return reject(s, {ErrorCode::bad_request, "hello already under way", m.id});
  const std::string_view token = m.token.empty() ? std::string_view(s.query_token()) : m.token;
  if (token.empty()) {
    auth_failed(s, auth::TokenError::none);
    audit(s, "hello", "failure", "missing-token");
    error(s, m.id, ErrorCode::unauthorized, "missing token");
    return s.close(proto::close_code::unauthorized, "missing token");
  }
  if (oidc_ && auth::peek_issuer(token) == oidc_->config().issuer) {
    bool unknown_kid = false;
    auth::VerifyResult r = oidc_->verify(token, unix_now(), &unknown_kid);
    if (unknown_kid && keys_) {
      // Perhaps the issuer rotated its keys: wait (off this loop) for one JWKS
      // refetch, rate-limited by OidcKeys, then judge the token again.
      // The frame `m` views is gone by then: keep what finish_hello reads.
      s.hello_pending_ = true;
      struct Kept {
        std::string id, token, resume_session, resume_token;
        bool has_resume;
        uint64_t last_seq;
      };
      Kept k{std::string(m.id),           std::string(token), std::string(m.resume_session),
             std::string(m.resume_token), m.has_resume,       m.resume_last_seq};
      keys_->refetch(s.resumer([this, k = std::move(k)](Session& again) {
        again.hello_pending_ = false;
        proto::ClientMessage m2;
        m2.type = MsgType::hello;
        m2.id = k.id;
        m2.token = k.token;
        m2.has_resume = k.has_resume;
        m2.resume_session = k.resume_session;
        m2.resume_token = k.resume_token;
        m2.resume_last_seq = k.last_seq;
        finish_hello(again, m2, oidc_->verify(k.token, unix_now()));
      }));
      return;
    }
    return finish_hello(s, m, std::move(r));
  }
  finish_hello(s, m, verify_own(token, unix_now()));
}

void Hub::finish_hello(Session& s, const proto::ClientMessage& m, auth::VerifyResult r) {
  const std::string_view id = m.id;
  if (!r.identity) {
    spdlog::info("auth rejected remote={} reason={} detail={}", s.remote(), auth::to_string(r.error),
                 r.detail);
    auth_failed(s, r.error);
    audit(s, "hello", "failure", auth::to_string(r.error));
    error(s, id, ErrorCode::unauthorized, std::string("invalid token: ") + auth::to_string(r.error));
    return s.close(proto::close_code::unauthorized, "invalid token");
  }
  if (m.has_resume && resume_on() && try_resume(s, m, *r.identity)) return;
  s.identity_ = std::move(*r.identity);
  s.authenticated_ = true;
  if (s.rare_) {  // the token from the URL has served
    s.rare_->query_token = std::string();
    s.trim_rare();
  }
  s.peer_ = routing::make_peer_id(s.shard());
  s.session_ = SessionId(new_secret());
  bus_.table(s.shard()).add_peer(&s);
  metrics_.shard(s.shard()).sessions_started.inc();
  const auth::IceServers ice = auth::ice_servers_for(cfg_.ice, s.identity_.user, unix_now());
  proto::Welcome w{id, s.session_, s.peer_, s.identity_.user, s.identity_.name, cfg_.heartbeat_s, ice.json};
  if (resume_on()) {
    s.resume_token_ = SmallString(new_secret());
    s.replay_.set_limits(cfg_.resume_buffer_messages, cfg_.resume_buffer_bytes);
    store_.put(s.session_, {s.peer_});
    if (cluster_) {
      s.log_ = cluster_;
      cluster_->session_started({s.session_, s.peer_, s.identity_.user, std::string(s.resume_token_.view())});
    }
  }
  s.send(proto::welcome(w, s.resume_token_.view()));
  // A client that resumes has this welcome (it holds the resume token), so
  // the replay never needs it or anything before it: not kept (~0.4 KB).
  s.replay_.clear();
  spdlog::debug("hello peer={} user={} remote={}", s.peer_.str(), s.identity_.user.str(), s.remote());
}

void Hub::refresh(Session& s, const proto::ClientMessage& m) {
  auth::VerifyResult r = verify_token(m.token, unix_now());
  if (!r.identity) {
    spdlog::info("refresh rejected peer={} reason={} detail={}", s.peer_.str(), auth::to_string(r.error),
                 r.detail);
    auth_failed(s, r.error);
    audit(s, "refresh", "failure", auth::to_string(r.error));
    return error(s, m.id, ErrorCode::unauthorized, std::string("invalid token: ") + auth::to_string(r.error));
  }
  if (r.identity->user != s.identity_.user) {
    audit(s, "refresh", "failure", "other-user");
    return error(s, m.id, ErrorCode::forbidden, "the new token is for another user");
  }
  s.identity_ = std::move(*r.identity);  // new expiry and grants; rooms already joined are kept
  audit(s, "refresh", "success", {});
  s.send(proto::ack(m.id));
}

void Hub::check_expiry(Session& s, int64_t now_unix) {
  if (!s.authenticated_ || s.identity_.expires_at == 0) return;
  if (now_unix < s.identity_.expires_at + cfg_.token_leeway_s) return;
  error(s, {}, ErrorCode::token_expired, "token expired; send refresh before it expires");
  s.close(proto::close_code::unauthorized, "token expired");
}

void Hub::emit(RoomEventType type, const rtc::Room& room, const rtc::Member* peer, std::string_view reason) {
  publish_room_event(events_, type, room, peer, reason);
}

void Hub::join(Session& s, const proto::ClientMessage& m) {
  RoomId room(m.room);
  if (!s.identity_.grants.may_join(m.room)) {
    audit(s, "join", "denied", "room-not-granted", m.room);
    return error(s, m.id, ErrorCode::forbidden,
                 "missing grant: rooms (the token does not grant room \"" + room.string() + "\")");
  }
  if (s.in_room(room)) return error(s, m.id, ErrorCode::already_joined, "already in this room");
  if (cfg_.max_rooms_per_conn && s.rooms_.size() >= cfg_.max_rooms_per_conn)
    return error(
        s, m.id, ErrorCode::forbidden,
        "joined-room limit reached (" + std::to_string(cfg_.max_rooms_per_conn) + " per connection)");
  // The token's room_config is checked on every join, so a bad claim fails
  // the same way whether or not the room exists; it is used only if this join
  // creates the room and no named-room entry matches.
  const rtc::RoomLimits limits{cfg_.max_room_peers, cfg_.max_broadcast_peers};
  RoomConfigResult from_token = parse_room_config(s.identity_.room_config_json, limits);
  if (!from_token.config && !from_token.error.empty())
    return error(s, m.id, ErrorCode::bad_request, "invalid token claim: " + from_token.error);
  const rtc::RoomConfig created = room_config_for(m.room, cfg_.named_rooms, from_token.config);

  const int64_t now = unix_now();
  rtc::Member me{.peer = s.peer_,
                 .user = s.identity_.user,
                 .name = s.identity_.name,
                 .metadata = m.metadata,  // none given: empty, read as {}
                 .home = s.shard(),
                 .publisher = s.identity_.grants.publish,
                 .joined_at = now};
  if (cluster_) return cluster_join(s, m.id, room, std::move(me), created);
  std::lock_guard lock(mu_);
  const bool existed = directory_.find(room) != nullptr;
  switch (directory_.join(room, me, now, created)) {
    case rtc::JoinStatus::already_joined:
      return error(s, m.id, ErrorCode::already_joined, "already in this room");
    case rtc::JoinStatus::room_full: {
      const rtc::Room* full = directory_.find(room);
      return error(s, m.id, ErrorCode::room_full,
                   full ? "room is full (" + std::to_string(full->max_peers) + " peers)" : "room is full");
    }
    case rtc::JoinStatus::ok: break;
  }
  const rtc::Room* r = directory_.find(room);
  const rtc::Member& self = r->members.back();
  s.rooms_.push_back(room);
  if (r->broadcast() && !self.publisher) s.add_viewer_room(room);
  bus_.table(s.shard()).add_member(room, &s);

  // A viewer of a broadcast room sees and tells only the publishers:
  // O(publishers) whatever the number of viewers.
  const std::vector<const rtc::Member*> others = r->contacts(self);
  s.send(proto::joined(m.id, room, others, r->kind, self.publisher));
  auto event = body(proto::peer_joined(room, self, r->broadcast()));
  for (const rtc::Member* x : others) bus_.to_member(x->home, x->peer, room, event);
  if (!existed) emit(RoomEventType::room_started, *r, nullptr, {});
  emit(RoomEventType::peer_joined, *r, &self, {});
}

void Hub::set_cluster(routing::Cluster* cluster) {
  cluster_ = cluster;
  cluster_->on_handoff([this](const PeerId& peer, const SessionId& session, std::function<void()> done) {
    const int home = routing::shard_of(peer, bus_.shard_count());
    if (home < 0) return done();
    bus_.run_on(static_cast<uint32_t>(home), [this, home, peer, session, done = std::move(done)]() mutable {
      release(static_cast<uint32_t>(home), peer, session, std::move(done));
    });
  });
  // Its own member removed by an operator on any node: out of the room, told why.
  cluster_->on_evicted([this](uint32_t home, const PeerId& peer, const RoomId& room, routing::Body notice) {
    if (home >= bus_.shard_count()) return;
    bus_.run_on(home,
                [this, home, peer, room, notice = std::move(notice)] { evicted(home, peer, room, notice); });
  });
  // Every removal the cluster makes (also of a lost node's peers) is reported
  // by the node that made it, for webhooks. On the cluster's thread.
  cluster_->on_left([this](const RoomId&, const routing::Cluster::LeaveResult& r, std::string_view reason) {
    emit(RoomEventType::peer_left, r.room, &r.member, reason);
    if (r.finished) emit(RoomEventType::room_finished, r.room, nullptr, "empty");
  });
}

void Hub::cluster_join(Session& s, std::string_view id, const RoomId& room, rtc::Member me,
                       rtc::RoomConfig created) {
  if (created.max_peers == 0)
    created.max_peers = rtc::RoomLimits{cfg_.max_room_peers, cfg_.max_broadcast_peers}.cap(created.kind);
  s.pause_input();
  s.rare().joining = room;
  auto result = std::make_shared<routing::Cluster::JoinResult>();
  auto resume = s.resumer([this, result, id = std::string(id), room](Session& again) {
    again.rare().joining = RoomId();
    again.trim_rare();
    finish_cluster_join(again, id, room, *result);
    again.resume_input();
  });
  cluster_->join({room, std::move(me), std::move(created)},
                 [result, resume = std::move(resume)](routing::Cluster::JoinResult r) mutable {
                   *result = std::move(r);
                   resume();
                 });
}

void Hub::finish_cluster_join(Session& s, std::string_view id, const RoomId& room,
                              const routing::Cluster::JoinResult& r) {
  switch (r.status) {
    case routing::Cluster::JoinResult::already_joined:
      return error(s, id, ErrorCode::already_joined, "already in this room");
    case routing::Cluster::JoinResult::room_full:
      return error(s, id, ErrorCode::room_full,
                   r.max_peers ? "room is full (" + std::to_string(r.max_peers) + " peers)" : "room is full");
    case routing::Cluster::JoinResult::unavailable:
      return error(s, id, ErrorCode::unavailable, "the cluster's shared state cannot be reached; try again");
    case routing::Cluster::JoinResult::ok: break;
  }
  s.rooms_.push_back(room);
  if (r.room.broadcast() && !r.self.publisher) s.add_viewer_room(room);
  bus_.table(s.shard()).add_member(room, &s);
  std::vector<const rtc::Member*> others;
  others.reserve(r.contacts.size());
  for (const rtc::Member& x : r.contacts) others.push_back(&x);
  s.send(proto::joined(id, room, others, r.room.kind, r.self.publisher));
  if (r.created) emit(RoomEventType::room_started, r.room, nullptr, {});
  emit(RoomEventType::peer_joined, r.room, &r.self, {});
}

void Hub::drop_room(Session& s, const RoomId& room) {
  if (auto it = std::find(s.rooms_.begin(), s.rooms_.end(), room); it != s.rooms_.end()) s.rooms_.erase(it);
  s.drop_viewer_room(room);
  bus_.table(s.shard()).remove_member(room, &s);
}

void Hub::leave_locked(Session& s, const RoomId& room, std::string_view reason) {
  drop_room(s, room);
  if (cluster_) return cluster_->leave(room, s.peer_, std::string(reason));
  const rtc::Room* r = directory_.find(room);
  const rtc::Member* me = r ? r->find(s.peer_) : nullptr;
  if (!me) return;                      // evicted by an operator; the notice is on its way to this loop
  const auto told = audience(*r, *me);  // O(publishers) for a broadcast viewer
  if (events_) {
    const rtc::Room before = header(*r);  // the room as it was, without copying its members
    const rtc::Member gone = *me;
    directory_.leave(room, s.peer_);
    emit(RoomEventType::peer_left, before, &gone, reason);
    if (!directory_.find(room)) emit(RoomEventType::room_finished, before, nullptr, "empty");
  } else {
    directory_.leave(room, s.peer_);
  }
  if (told.empty()) return;
  auto event = body(proto::peer_left(room, s.peer_, reason));
  for (const auto& [home, peer] : told) bus_.to_member(home, peer, room, event);
}

void Hub::leave(Session& s, const proto::ClientMessage& m) {
  RoomId room(m.room);
  if (!s.in_room(room)) return error(s, m.id, ErrorCode::not_in_room, "not in this room");
  {
    std::lock_guard lock(mu_);
    leave_locked(s, room, "left");
  }
  s.send(proto::ack(m.id));
}

void Hub::update(Session& s, const proto::ClientMessage& m) {
  RoomId room(m.room);
  if (!s.in_room(room)) return error(s, m.id, ErrorCode::not_in_room, "not in this room");
  if (cluster_) {
    cluster_->update(room, s.peer_, std::string(m.metadata));
    return s.send(proto::ack(m.id));
  }
  {
    std::lock_guard lock(mu_);
    directory_.update(room, s.peer_, std::string(m.metadata));
    const rtc::Room* r = directory_.find(room);
    const rtc::Member* me = r ? r->find(s.peer_) : nullptr;
    if (me) {  // told to the members it is in contact with: O(publishers) for a broadcast viewer
      auto event = body(proto::peer_updated(room, *me, r->broadcast()));
      for (const rtc::Member* x : r->contacts(*me)) bus_.to_member(x->home, x->peer, room, event);
    }
  }
  s.send(proto::ack(m.id));
}

void Hub::relay(Session& s, const proto::ClientMessage& m, routing::Clock::time_point received_at) {
  RoomId room(m.room);
  if (!s.in_room(room)) return error(s, m.id, ErrorCode::not_in_room, "not in this room");
  // Sender-side grants; the recipient's side (subscribe, broadcast roles) is
  // checked on the recipient's loop by Session::admit.
  if (m.type == MsgType::offer && !s.identity_.grants.publish)
    return error(s, m.id, ErrorCode::forbidden, "missing grant: publish");
  if (m.type == MsgType::message && !s.identity_.grants.data)
    return error(s, m.id, ErrorCode::forbidden, "missing grant: data");
  routing::Relay frame{body(proto::relay(m.type, room, s.peer_, m.data)), m.type, received_at,
                       s.viewer_in(room)};
  if (m.to.empty()) {  // only `message` may omit `to` (checked by the parser)
    metrics_.shard(s.shard()).relayed[static_cast<size_t>(m.type)].inc();
    bus_.to_room(room, s.peer_, std::move(frame));
    if (!m.id.empty()) s.send(proto::ack(m.id));
    return;
  }
  PeerId to(m.to);
  if (to == s.peer_) return reject(s, {ErrorCode::bad_request, "cannot relay to yourself", m.id});
  metrics_.shard(s.shard()).relayed[static_cast<size_t>(m.type)].inc();
  bus_.to_peer(s.peer_, to, room, std::move(frame), std::string(m.id));
}

void Hub::disconnect(Session& s, bool resumable) {
  if (!s.authenticated_) return;
  if (s.releasing()) return finish_release(s.shard(), s);  // its session goes on on another node
  if (cluster_ && s.joining()) {                           // its join may still land: undo it after
    cluster_->leave(*s.joining(), s.peer_, "disconnected");
    s.rare().joining = RoomId();
    resumable = false;
  }
  if (resumable && resume_on()) {
    const uint32_t home = s.shard();
    const SessionId id = s.session_;
    auto p = std::make_shared<ResumedSession>(home, bus_,
                                              [this, home, id] { end_session(home, id, "resume-overflow"); });
    p->set_drain([this, home, id] { drain_held(home, id); });
    move_session(s, *p);
    park(home, id, *p);
    resumed_[home][id] = std::move(p);
    spdlog::debug("parked peer={} session={}", s.peer_.str(), id.str());
    return;
  }
  forget_session(s);
  {
    std::lock_guard lock(mu_);
    while (!s.rooms_.empty()) leave_locked(s, RoomId(s.rooms_.back()), "disconnected");
  }
  bus_.table(s.shard()).remove_peer(s.peer_);
  s.authenticated_ = false;
  metrics_.shard(s.shard()).sessions_ended.inc();
}

// --- Session resume --------------------------------------------------------

struct Hub::AttachRequest {
  std::weak_ptr<Transport> transport;
  uint32_t from = 0;  // the new connection's loop
  uint64_t ticket = 0;
  PeerId peer;
  SessionId session;
  std::string secret;
  uint64_t last_seq = 0;
  auth::Identity identity;
  std::string token;  // to start a new session instead, if refused
  std::string id;     // the hello's raw id
};

bool Hub::try_resume(Session& s, const proto::ClientMessage& m, const auth::Identity& id) {
  const SessionId session{std::string(m.resume_session)};
  std::optional<routing::ResumeRecord> rec = store_.get(session);
  if (!rec && cluster_) {  // perhaps held by another node
    auto req = std::make_shared<AttachRequest>();
    req->from = s.shard();
    req->ticket = next_ticket_.fetch_add(1, std::memory_order_relaxed);
    req->session = session;
    req->secret = std::string(m.resume_token);
    req->last_seq = m.resume_last_seq;
    req->identity = id;
    req->token = std::string(m.token.empty() ? std::string_view(s.query_token()) : m.token);
    req->id = std::string(m.id);
    return take_over(s, req);
  }
  // Unknown here: a new session. The user and the secret are checked on the
  // home loop (attach), against the session itself; a refusal there looks the
  // same to the client (a new session).
  if (!rec) {
    spdlog::info("resume refused remote={} user={} reason=unknown session", s.remote(), id.user.str());
    return false;
  }
  const int home = routing::shard_of(rec->peer, bus_.shard_count());
  std::shared_ptr<Transport> t = s.transport().lock();
  if (home < 0 || !t) return false;
  auto req = std::make_shared<AttachRequest>();
  req->transport = t;
  req->from = s.shard();
  req->ticket = next_ticket_.fetch_add(1, std::memory_order_relaxed);
  req->peer = rec->peer;
  req->session = session;
  req->secret = std::string(m.resume_token);
  req->last_seq = m.resume_last_seq;
  req->identity = id;
  req->token = std::string(m.token.empty() ? std::string_view(s.query_token()) : m.token);
  req->id = std::string(m.id);
  t->forward_to(static_cast<uint32_t>(home), session, req->ticket);
  bus_.run_on(static_cast<uint32_t>(home), [this, req] { attach(req); });
  return true;
}

void Hub::refuse_resume(const std::shared_ptr<AttachRequest>& req, std::string_view why) {
  spdlog::info("resume refused session={} user={} reason={}", req->session.str(), req->identity.user.str(),
               why);
  bus_.run_on(req->from, [this, req] {
    std::shared_ptr<Transport> t = req->transport.lock();
    if (!t) return;
    t->refused();
    proto::ClientMessage m;  // a plain hello with the same token and id
    m.type = MsgType::hello;
    m.id = req->id;
    m.token = req->token;
    hello(t->session(), m);
  });
}

void Hub::attach(const std::shared_ptr<AttachRequest>& req) {
  const uint32_t home = routing::LocalBus::current_shard();
  auto refuse = [&](std::string_view why) { refuse_resume(req, why); };
  auto* cur = static_cast<Session*>(bus_.table(home).find(req->peer));
  // The home loop's own record is the authority (the store may lag behind,
  // and holds neither the user nor the secret).
  if (!cur || !cur->authenticated_ || cur->session_ != req->session) return refuse("session gone");
  if (cur->identity_.user != req->identity.user) return refuse("other user");
  if (!routing::secrets_equal(cur->resume_token_.view(), req->secret)) return refuse("wrong resume_token");
  if (!cur->replay_.covers(req->last_seq, cur->seq_)) return refuse("frames after last_seq no longer held");
  if (cur->joining()) return refuse("a join is under way");
  std::shared_ptr<ResumedSession> p;
  if (auto it = resumed_[home].find(req->session); it != resumed_[home].end()) {
    p = it->second;
    if (p->overflowed()) return refuse("replay buffer overflowed");
    p->detach_for_takeover();  // a connection still attached is closed with 4409
  } else {
    // Still carried by its first connection, not yet noticed dead: take it over.
    const SessionId id = req->session;
    p = std::make_shared<ResumedSession>(home, bus_,
                                         [this, home, id] { end_session(home, id, "resume-overflow"); });
    p->set_drain([this, home, id] { drain_held(home, id); });
    move_session(*cur, *p);
    cur->close(proto::close_code::resumed_elsewhere, "resumed elsewhere");
    resumed_[home][id] = p;
  }
  p->identity_ = req->identity;  // the new token: new expiry and grants, same user
  const size_t replayed = reattach(*p, *req, /*forward=*/false);
  spdlog::debug("resumed peer={} session={} replayed={} from_loop={} home_loop={}", p->peer_.str(),
                p->session_.str(), replayed, req->from, home);
}

size_t Hub::reattach(ResumedSession& p, const AttachRequest& req, bool forward) {
  const uint32_t home = routing::LocalBus::current_shard();
  std::vector<routing::ReplayBuffer::Frame> frames = p.replay_.since(req.last_seq);
  const size_t replayed = frames.size();
  p.attach(req.transport, req.from, req.ticket);
  carried_[home].insert(p.session_);
  bus_.run_on(req.from, [t = req.transport, home, id = p.session_, ticket = req.ticket, forward,
                         frames = std::move(frames)] {
    std::shared_ptr<Transport> tp = t.lock();
    if (!tp) return;
    if (forward) tp->forward_to(home, id, ticket);
    for (const auto& f : frames) tp->write(f.body, f.seq);
    tp->attached();
  });
  metrics_.shard(home).sessions_resumed.inc();
  const auth::IceServers ice = auth::ice_servers_for(cfg_.ice, p.identity_.user, unix_now());
  proto::Welcome w{req.id,           p.session_,       p.peer_, p.identity_.user,
                   p.identity_.name, cfg_.heartbeat_s, ice.json};
  p.send(proto::welcome(w, p.resume_token_.view(), true));
  return replayed;
}

void Hub::move_session(Session& from, Session& to) {
  to.authenticated_ = true;
  to.peer_ = from.peer_;
  to.session_ = from.session_;
  to.identity_ = from.identity_;
  to.rooms_ = from.rooms_;
  to.viewer_in_ = std::move(from.viewer_in_);  // broadcast rooms where it is a viewer
  to.seq_ = from.seq_;
  to.replay_ = std::move(from.replay_);
  to.resume_token_ = from.resume_token_;
  to.log_ = from.log_;
  from.log_ = nullptr;
  if (from.rare_ && from.rare_->bad_requests > 0) {
    to.rare().bad_requests = from.rare_->bad_requests;
    to.rare().bad_window_start = from.rare_->bad_window_start;
  }
  routing::ShardTable& table = bus_.table(from.shard());
  table.add_peer(&to);  // replaces `from`
  for (const RoomId& room : from.rooms_) {
    table.remove_member(room, &from);
    table.add_member(room, &to);
  }
  from.rooms_.clear();
  from.viewer_in_.reset();
  from.authenticated_ = false;  // its disconnect no longer concerns the session
}

void Hub::forget_session(const Session& s) {
  store_.erase(s.session_);
  if (cluster_ && s.log_) cluster_->session_ended(s.session_, s.peer_);
}

// --- Session resume across nodes (cluster mode) ------------------------------

bool Hub::take_over(Session& s, const std::shared_ptr<AttachRequest>& req) {
  std::shared_ptr<Transport> t = s.transport().lock();
  if (!t) return false;
  req->transport = t;
  s.pause_input();  // until the cluster answers: what the client sends next goes to the resumed session
  cluster_->take_session(
      req->session, req->identity.user, req->secret, [this, req](routing::Cluster::Taken taken) mutable {
        if (taken.status != routing::Cluster::Taken::ok) return refuse_resume(req, taken.why);
        const int home = routing::shard_of(taken.record.peer, bus_.shard_count());
        // Posted now, from the cluster's loop: it runs before any frame
        // for the peer that the cluster hands the LocalBus later.
        bus_.post(static_cast<uint32_t>(home),
                  [this, req, taken = std::move(taken)]() mutable { adopt(req, std::move(taken)); });
      });
  return true;
}

void Hub::adopt(const std::shared_ptr<AttachRequest>& req, routing::Cluster::Taken taken) {
  const uint32_t home = routing::LocalBus::current_shard();
  const PeerId peer = taken.record.peer;
  const SessionId id = req->session;
  routing::ShardTable& table = bus_.table(home);
  if (table.find(peer) || resumed_[home].count(id)) {
    cluster_->answer_held(routing::Cluster::refused(taken.held));
    return refuse_resume(req, "already held here");
  }
  auto p = std::make_shared<ResumedSession>(home, bus_,
                                            [this, home, id] { end_session(home, id, "resume-overflow"); });
  p->set_drain([this, home, id] { drain_held(home, id); });
  p->authenticated_ = true;
  p->peer_ = peer;
  p->session_ = id;
  p->identity_ = req->identity;  // the new token: new expiry and grants, same user
  p->resume_token_ = SmallString(taken.record.secret);
  p->replay_.set_limits(cfg_.resume_buffer_messages, cfg_.resume_buffer_bytes);
  for (auto& [seq, body] : taken.log) {
    p->replay_.push(seq, body);
    p->seq_ = seq;
  }
  // Frames the client saw that never reached Redis (its node died first): numbering goes on after them.
  // Or more came while its node was gone than its inbox kept.
  const bool gap =
      (!p->replay_.covers(req->last_seq, p->seq_) && req->last_seq <= p->seq_) || taken.overflowed;
  if (req->last_seq > p->seq_) p->seq_ = req->last_seq;
  p->log_ = cluster_;
  table.add_peer(p.get());
  for (const auto& r : taken.rooms) {
    p->rooms_.push_back(r.room);
    if (r.viewer) p->add_viewer_room(r.room);
    table.add_member(r.room, p.get());
  }
  store_.put(id, {peer});
  park(home, id, *p);
  resumed_[home][id] = p;
  if (gap) {  // frames after last_seq are no longer stored: it cannot go on exactly
    end_session(home, id, "resume-overflow");
    cluster_->answer_held(routing::Cluster::refused(taken.held));
    return refuse_resume(req, taken.overflowed ? "more was sent while its node was gone than is kept"
                                               : "frames after last_seq no longer stored");
  }
  const size_t replayed = reattach(*p, *req, /*forward=*/true);
  // Then what came for it while it moved, as it would have been delivered.
  // Their senders are answered once these frames are stored.
  size_t held = 0;
  std::vector<routing::Cluster::Answer> answers;
  for (auto& h : taken.held) {
    routing::Admission a{routing::Admission::ok, {}};
    if (h.relay)
      a = p->admit(h.room, h.frame);
    else if (!h.notice && !p->in_room(h.room))
      a.verdict = routing::Admission::absent;
    if (a.verdict == routing::Admission::ok) {
      p->deliver(h.frame.body);
      ++held;
    }
    if (h.answer) {
      h.answer->reply.verdict = static_cast<uint8_t>(a.verdict);
      h.answer->reply.reason = std::string(a.reason);
      answers.push_back(std::move(*h.answer));
    }
  }
  cluster_->answer_held(std::move(answers));
  spdlog::debug("resumed peer={} session={} from another node replayed={} waiting={} loop={}", peer.str(),
                id.str(), replayed, held, home);
}

void Hub::release(uint32_t home, const PeerId& peer, const SessionId& session, std::function<void()> done) {
  Session* cur = nullptr;
  ResumedSession* p = nullptr;
  if (auto it = resumed_[home].find(session); it != resumed_[home].end())
    cur = p = it->second.get();
  else
    cur = static_cast<Session*>(bus_.table(home).find(peer));
  if (!cur || !cur->authenticated_ || cur->session_ != session) return done();
  if (p && p->parked()) {
    finish_release(home, *cur);
    return done();
  }
  cur->rare().release_done =
      std::move(done);  // finished at its disconnect (transport_closed for a resumed one)
  cur->close(proto::close_code::resumed_elsewhere, "resumed elsewhere");
}

void Hub::finish_release(uint32_t home, Session& s) {
  routing::ShardTable& table = bus_.table(home);
  for (const RoomId& room : s.rooms_) table.remove_member(room, &s);
  table.remove_peer(s.peer_);
  store_.erase(s.session_);
  s.rooms_.clear();
  s.viewer_in_.reset();
  s.log_ = nullptr;
  s.authenticated_ = false;  // its disconnect no longer concerns the session
  spdlog::debug("session of peer={} handed over to another node", s.peer_.str());
  std::function<void()> done;
  if (s.rare_) std::swap(done, s.rare_->release_done);
  const SessionId id = s.session_;
  if (auto it = resumed_[home].find(id); it != resumed_[home].end())
    resumed_[home].erase(it);  // may free `s`
  if (done) done();
}

ResumedSession* Hub::resumed(uint32_t home, const SessionId& session, uint64_t ticket) {
  auto it = resumed_[home].find(session);
  if (it == resumed_[home].end() || it->second->parked() || it->second->ticket() != ticket) return nullptr;
  return it->second.get();
}

void Hub::end_session(uint32_t home, const SessionId& session, std::string_view reason) {
  auto it = resumed_[home].find(session);
  if (it == resumed_[home].end()) return;
  std::shared_ptr<ResumedSession> p = it->second;
  resumed_[home].erase(it);
  if (!p->parked()) p->close(proto::close_code::going_away, reason);
  {
    std::lock_guard lock(mu_);
    while (!p->rooms_.empty()) leave_locked(*p, RoomId(p->rooms_.back()), reason);
  }
  bus_.table(home).remove_peer(p->peer_);
  forget_session(*p);
  p->authenticated_ = false;
  metrics_.shard(home).sessions_ended.inc();
  spdlog::debug("session ended peer={} session={} reason={}", p->peer_.str(), session.str(), reason);
}

void Hub::forward_input(uint32_t home, const SessionId& session, uint64_t ticket, std::string frame,
                        routing::Clock::time_point received_at) {
  bus_.run_on(home, [this, home, session, ticket, frame = std::move(frame), received_at] {
    ResumedSession* p = resumed(home, session, ticket);
    if (!p) return;
    if (p->input_paused() || !p->held().empty()) return p->hold(std::move(frame), received_at);
    proto::ClientMessage m;
    proto::ParseError err;
    if (parsers_[home]->parse(frame, m, err))
      handle(*p, m, received_at);
    else
      reject(*p, err);
  });
}

void Hub::drain_held(uint32_t home, const SessionId& session) {
  auto it = resumed_[home].find(session);
  if (it == resumed_[home].end()) return;
  std::shared_ptr<ResumedSession> p = it->second;
  while (!p->input_paused() && !p->held().empty()) {
    auto [frame, received_at] = std::move(p->held().front());
    p->held().pop_front();
    proto::ClientMessage m;
    proto::ParseError err;
    if (parsers_[home]->parse(frame, m, err))
      handle(*p, m, received_at);
    else
      reject(*p, err);
  }
}

void Hub::forward_deliver(uint32_t home, const SessionId& session, uint64_t ticket, routing::Body body) {
  bus_.run_on(home, [this, home, session, ticket, body = std::move(body)] {
    if (ResumedSession* p = resumed(home, session, ticket)) p->deliver(body);
  });
}

void Hub::forward_end(uint32_t home, const SessionId& session, uint64_t ticket, routing::Body notice,
                      uint16_t code, std::string reason) {
  bus_.run_on(home,
              [this, home, session, ticket, notice = std::move(notice), code, reason = std::move(reason)] {
                ResumedSession* p = resumed(home, session, ticket);
                if (!p) return;
                if (notice) p->deliver(notice);
                p->close(code, reason);
              });
}

void Hub::transport_closed(uint32_t home, const SessionId& session, uint64_t ticket, bool resumable) {
  bus_.run_on(home, [this, home, session, ticket, resumable] {
    ResumedSession* p = resumed(home, session, ticket);
    if (!p) return;  // taken over by a newer connection, or already ended
    if (p->releasing()) return finish_release(home, *p);  // its session goes on on another node
    if (resumable) {
      park(home, session, *p);
      spdlog::debug("parked peer={} session={}", p->peer_.str(), session.str());
    } else
      end_session(home, session, "disconnected");
  });
}

void Hub::park(uint32_t home, const SessionId& id, ResumedSession& p) {
  const auto now = routing::Clock::now();
  p.park(now);
  park_order_[home].push_back({now, id});
}

// Cost: O(sessions expiring + sessions carried), whatever the number parked.
void Hub::sweep(uint32_t shard, routing::Clock::time_point now) {
  auto& map = resumed_[shard];
  auto& order = park_order_[shard];
  const auto window = std::chrono::seconds(cfg_.resume_window_s);
  std::vector<SessionId> expired;
  // An entry is stale when its session has ended, was resumed, or was parked again since (a later entry).
  while (!order.empty() && now - order.front().since >= window) {
    auto it = map.find(order.front().id);
    if (it != map.end() && it->second->parked() && it->second->parked_since() == order.front().since)
      expired.push_back(order.front().id);
    order.pop_front();
  }
  for (const SessionId& id : expired) end_session(shard, id, "disconnected");
  std::vector<std::shared_ptr<ResumedSession>> carried;
  for (auto it = carried_[shard].begin(); it != carried_[shard].end();) {
    auto r = map.find(*it);
    if (r == map.end() || r->second->parked()) {
      it = carried_[shard].erase(it);
    } else {
      carried.push_back(r->second);
      ++it;
    }
  }
  const int64_t unix = unix_now();
  for (auto& p : carried) check_expiry(*p, unix);
}

size_t Hub::room_count() {
  std::lock_guard lock(mu_);
  return directory_.room_count();
}

size_t Hub::peer_count() {
  std::lock_guard lock(mu_);
  return directory_.peer_count();
}

// --- RoomAdmin -------------------------------------------------------------

RoomInfo Hub::info(const rtc::Room& r) {
  return RoomInfo{r.id.string(), r.kind,       r.metadata,  r.members.size(),
                  r.max_peers,   r.created_at, r.persistent};
}

std::vector<RoomInfo> Hub::rooms() {
  std::lock_guard lock(mu_);
  std::vector<RoomInfo> out;
  for (const rtc::Room* r : directory_.list()) out.push_back(info(*r));
  return out;
}

std::optional<RoomInfo> Hub::room(const RoomId& room) {
  std::lock_guard lock(mu_);
  const rtc::Room* r = directory_.find(room);
  if (!r) return std::nullopt;
  return info(*r);
}

std::optional<std::vector<PeerInfo>> Hub::peers(const RoomId& room) {
  std::lock_guard lock(mu_);
  const rtc::Room* r = directory_.find(room);
  if (!r) return std::nullopt;
  std::vector<PeerInfo> out;
  out.reserve(r->members.size());
  for (const auto& m : r->members)
    out.push_back({m.peer.string(), m.user.string(), m.name.string(), m.metadata.string(), m.joined_at});
  return out;
}

AdminStatus Hub::create_room(const RoomId& room, rtc::RoomConfig cfg, RoomInfo& out) {
  std::lock_guard lock(mu_);
  if (directory_.create(room, std::move(cfg), unix_now()) == rtc::CreateStatus::exists)
    return AdminStatus::exists;
  const rtc::Room* r = directory_.find(room);
  out = info(*r);
  emit(RoomEventType::room_started, *r, nullptr, {});
  return AdminStatus::ok;
}

AdminStatus Hub::set_room_metadata(const RoomId& room, std::string metadata, RoomInfo& out) {
  std::lock_guard lock(mu_);
  if (!directory_.set_metadata(room, std::move(metadata))) return AdminStatus::no_room;
  out = info(*directory_.find(room));
  return AdminStatus::ok;
}

void Hub::evicted(uint32_t home, const PeerId& peer, const RoomId& room, const routing::Body& notice) {
  auto* s = static_cast<Session*>(bus_.table(home).find(peer));
  if (!s || !s->in_room(room)) return;  // gone, or it left on its own meanwhile
  {
    std::lock_guard lock(mu_);
    const rtc::Room* r = directory_.find(room);
    if (r && r->find(peer)) return;  // it left and joined again since: that membership stands
  }
  s->rooms_.erase(std::find(s->rooms_.begin(), s->rooms_.end(), room));
  s->drop_viewer_room(room);
  bus_.table(home).remove_member(room, s);
  s->deliver(notice);
}

AdminStatus Hub::close_room(const RoomId& room) {
  std::vector<rtc::Member> members;
  {
    std::lock_guard lock(mu_);
    std::optional<rtc::Room> r = directory_.close(room);
    if (!r) return AdminStatus::no_room;
    for (const auto& m : r->members) emit(RoomEventType::peer_left, *r, &m, "room-closed");
    emit(RoomEventType::room_finished, *r, nullptr, "closed");
    members = std::move(r->members);
  }
  // Told on their own loops, after the lock is released (evicted() takes it).
  auto notice = body(proto::room_closed(room));
  for (const auto& m : members)
    bus_.run_on(m.home,
                [this, home = m.home, peer = m.peer, room, notice] { evicted(home, peer, room, notice); });
  spdlog::info("admin: room {} closed ({} peers)", room.str(), members.size());
  return AdminStatus::ok;
}

AdminStatus Hub::kick(const RoomId& room, const PeerId& peer, std::string_view reason) {
  uint32_t home = 0;
  {
    std::lock_guard lock(mu_);
    const rtc::Room* r = directory_.find(room);
    if (!r) return AdminStatus::no_room;
    const rtc::Member* m = r->find(peer);
    if (!m) return AdminStatus::no_peer;
    home = m->home;
    const rtc::Room before = header(*r);
    const rtc::Member gone = *m;
    const auto told = audience(*r, *m);  // O(publishers) for a broadcast viewer
    directory_.leave(room, peer);
    emit(RoomEventType::peer_left, before, &gone, "kicked");
    if (!directory_.find(room)) {
      emit(RoomEventType::room_finished, before, nullptr, "empty");
    } else {
      auto event = body(proto::peer_left(room, peer, "kicked"));
      for (const auto& [h, p] : told) bus_.to_member(h, p, room, event);
    }
  }
  auto notice = body(proto::kicked(room, reason));
  bus_.run_on(home, [this, home, peer, room, notice] { evicted(home, peer, room, notice); });
  spdlog::info("admin: peer {} kicked from room {}", peer.str(), room.str());
  return AdminStatus::ok;
}

AdminStatus Hub::send(const RoomId& room, const std::optional<PeerId>& to, std::string_view data,
                      size_t& recipients) {
  std::lock_guard lock(mu_);
  recipients = 0;
  const rtc::Room* r = directory_.find(room);
  if (!r) return AdminStatus::no_room;
  auto frame = body(proto::relay(MsgType::message, room, PeerId("server"), data));
  if (to) {
    const rtc::Member* m = r->find(*to);
    if (!m) return AdminStatus::no_peer;
    bus_.to_member(m->home, m->peer, room, frame);
    recipients = 1;
    return AdminStatus::ok;
  }
  for (const auto& m : r->members) bus_.to_member(m.home, m.peer, room, frame);
  recipients = r->members.size();
  return AdminStatus::ok;
}

}  // namespace sb::service
