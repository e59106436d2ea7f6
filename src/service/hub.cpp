#include "service/hub.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "core/random.h"
#include "proto/encode.h"

namespace sb::service {

using proto::ErrorCode;
using proto::MsgType;

namespace {
routing::Body body(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}
}  // namespace

Hub::Hub(HubConfig cfg, const auth::JwtVerifier& verifier, routing::LocalBus& bus)
    : cfg_(std::move(cfg)),
      verifier_(verifier),
      bus_(bus),
      directory_(rtc::RoomLimits{cfg_.max_room_peers}) {}

void Hub::error(Session& s, std::string_view id, ErrorCode code, std::string_view message) {
  s.send(proto::error(id, code, message));
}

void Hub::reject(Session& s, const proto::ParseError& e) {
  error(s, e.id, e.code, e.message);
  if (e.code != ErrorCode::bad_request) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - s.bad_window_start_ > std::chrono::seconds(cfg_.bad_request_window_s)) {
    s.bad_window_start_ = now;
    s.bad_requests_ = 0;
  }
  if (++s.bad_requests_ >= cfg_.bad_request_limit)
    s.close(proto::close_code::bad_request, "too many bad requests");
}

void Hub::handle(Session& s, const proto::ClientMessage& m) {
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
    case MsgType::message: return relay(s, m);
  }
}

void Hub::hello(Session& s, const proto::ClientMessage& m) {
  const std::string_view token = m.token.empty() ? std::string_view(s.query_token()) : m.token;
  if (token.empty()) {
    error(s, m.id, ErrorCode::unauthorized, "missing token");
    return s.close(proto::close_code::unauthorized, "missing token");
  }
  auth::VerifyResult r = verifier_.verify(token, static_cast<int64_t>(std::time(nullptr)));
  if (!r.identity) {
    spdlog::info("auth rejected remote={} reason={} detail={}", s.remote(), auth::to_string(r.error),
                 r.detail);
    error(s, m.id, ErrorCode::unauthorized, std::string("invalid token: ") + auth::to_string(r.error));
    return s.close(proto::close_code::unauthorized, "invalid token");
  }
  s.identity_ = std::move(*r.identity);
  s.authenticated_ = true;
  s.peer_ = routing::make_peer_id(s.shard());
  s.session_ = SessionId(random_hex(16));
  bus_.table(s.shard()).add_peer(&s);
  proto::Welcome w{
      m.id, s.session_, s.peer_, s.identity_.user, s.identity_.name, cfg_.heartbeat_s, cfg_.ice_servers_json};
  s.send(proto::welcome(w));
  spdlog::debug("hello peer={} user={} remote={}", s.peer_.str(), s.identity_.user.str(), s.remote());
}

void Hub::refresh(Session& s, const proto::ClientMessage& m) {
  auth::VerifyResult r = verifier_.verify(m.token, static_cast<int64_t>(std::time(nullptr)));
  if (!r.identity) {
    spdlog::info("refresh rejected peer={} reason={} detail={}", s.peer_.str(), auth::to_string(r.error),
                 r.detail);
    return error(s, m.id, ErrorCode::unauthorized, std::string("invalid token: ") + auth::to_string(r.error));
  }
  if (r.identity->user != s.identity_.user)
    return error(s, m.id, ErrorCode::forbidden, "the new token is for another user");
  s.identity_ = std::move(*r.identity);  // new expiry and grants; rooms already joined are kept
  s.send(proto::ack(m.id));
}

void Hub::check_expiry(Session& s, int64_t now_unix) {
  if (!s.authenticated_ || s.identity_.expires_at == 0) return;
  if (now_unix < s.identity_.expires_at + cfg_.token_leeway_s) return;
  error(s, {}, ErrorCode::token_expired, "token expired; send refresh before it expires");
  s.close(proto::close_code::unauthorized, "token expired");
}

void Hub::join(Session& s, const proto::ClientMessage& m) {
  RoomId room(m.room);
  if (!s.identity_.grants.may_join(m.room))
    return error(s, m.id, ErrorCode::forbidden, "token does not grant this room");
  if (s.in_room(room)) return error(s, m.id, ErrorCode::already_joined, "already in this room");
  if (cfg_.max_rooms_per_conn && s.rooms_.size() >= cfg_.max_rooms_per_conn)
    return error(
        s, m.id, ErrorCode::forbidden,
        "joined-room limit reached (" + std::to_string(cfg_.max_rooms_per_conn) + " per connection)");

  rtc::Member me{s.peer_, s.identity_.user, s.identity_.name,
                 m.metadata.empty() ? std::string("{}") : std::string(m.metadata), s.shard()};
  std::lock_guard lock(mu_);
  switch (directory_.join(room, me)) {
    case rtc::JoinStatus::already_joined:
      return error(s, m.id, ErrorCode::already_joined, "already in this room");
    case rtc::JoinStatus::room_full: return error(s, m.id, ErrorCode::room_full, "room is full");
    case rtc::JoinStatus::ok: break;
  }
  s.rooms_.push_back(room);
  bus_.table(s.shard()).add_member(room, &s);

  const rtc::Room* r = directory_.find(room);
  std::vector<const rtc::Member*> others;
  others.reserve(r->members.size());
  for (const auto& x : r->members)
    if (x.peer != s.peer_) others.push_back(&x);
  s.send(proto::joined(m.id, room, others));
  auto event = body(proto::peer_joined(room, r->members.back()));
  for (const rtc::Member* x : others) bus_.to_member(x->home, x->peer, room, event);
}

void Hub::leave_locked(Session& s, const RoomId& room, std::string_view reason) {
  if (!directory_.leave(room, s.peer_)) return;
  s.rooms_.erase(std::find(s.rooms_.begin(), s.rooms_.end(), room));
  bus_.table(s.shard()).remove_member(room, &s);
  const rtc::Room* r = directory_.find(room);
  if (!r) return;
  auto event = body(proto::peer_left(room, s.peer_, reason));
  for (const auto& x : r->members) bus_.to_member(x.home, x.peer, room, event);
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
  {
    std::lock_guard lock(mu_);
    directory_.update(room, s.peer_, std::string(m.metadata));
    const rtc::Room* r = directory_.find(room);
    const rtc::Member* me = r ? r->find(s.peer_) : nullptr;
    if (me) {
      auto event = body(proto::peer_updated(room, *me));
      for (const auto& x : r->members)
        if (x.peer != s.peer_) bus_.to_member(x.home, x.peer, room, event);
    }
  }
  s.send(proto::ack(m.id));
}

void Hub::relay(Session& s, const proto::ClientMessage& m) {
  RoomId room(m.room);
  if (!s.in_room(room)) return error(s, m.id, ErrorCode::not_in_room, "not in this room");
  auto frame = body(proto::relay(m.type, room, s.peer_, m.data));
  if (m.to.empty()) {  // only `message` may omit `to` (checked by the parser)
    bus_.to_room(room, s.peer_, std::move(frame));
    if (!m.id.empty()) s.send(proto::ack(m.id));
    return;
  }
  PeerId to(m.to);
  if (to == s.peer_) return reject(s, {ErrorCode::bad_request, "cannot relay to yourself", m.id});
  bus_.to_peer(s.peer_, to, room, std::move(frame), std::string(m.id));
}

void Hub::disconnect(Session& s) {
  if (!s.authenticated_) return;
  {
    std::lock_guard lock(mu_);
    while (!s.rooms_.empty()) leave_locked(s, RoomId(s.rooms_.back()), "disconnected");
  }
  bus_.table(s.shard()).remove_peer(s.peer_);
  s.authenticated_ = false;
}

size_t Hub::room_count() {
  std::lock_guard lock(mu_);
  return directory_.room_count();
}

size_t Hub::peer_count() {
  std::lock_guard lock(mu_);
  return directory_.peer_count();
}

}  // namespace sb::service
