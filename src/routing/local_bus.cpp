#include "routing/local_bus.h"

#include <algorithm>

#include "core/random.h"
#include "proto/encode.h"

namespace sb::routing {

namespace {
thread_local uint32_t t_current_shard = 0;

Body make_body(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}
}  // namespace

Endpoint* ShardTable::find(const PeerId& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second;
}

void ShardTable::remove_member(const RoomId& room, Endpoint* e) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), e), v.end());
  if (v.empty()) rooms_.erase(it);
}

const std::vector<Endpoint*>* ShardTable::members(const RoomId& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

namespace {
int t_node_tag = -1;  // set once before the loops run, read-only afterwards
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

void set_node_tag(uint32_t tag) {
  t_node_tag = static_cast<int>(tag & 0xffff);
}

PeerId make_peer_id(uint32_t shard) {
  std::string id = random_hex(8);
  if (t_node_tag >= 0)
    for (int i = 0; i < 4; ++i) id[12 + i] = kHex[(t_node_tag >> (12 - 4 * i)) & 0xf];
  id.push_back(kHex[(shard >> 4) & 0xf]);
  id.push_back(kHex[shard & 0xf]);
  return PeerId(std::move(id));
}

bool maybe_local(const PeerId& id) {
  if (t_node_tag < 0) return true;
  const std::string_view s = id.str();
  if (s.size() != 18) return false;
  for (int i = 0; i < 4; ++i)
    if (s[12 + i] != kHex[(t_node_tag >> (12 - 4 * i)) & 0xf]) return false;
  return true;
}

int shard_of(const PeerId& id, uint32_t shard_count) {
  const std::string_view s = id.str();
  if (s.size() != 18) return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(s[16]), lo = hex(s[17]);
  if (hi < 0 || lo < 0) return -1;
  if (shard_count == 0) return -1;
  // Modulo: a session moved here from a node with more loops still gets one of ours.
  return static_cast<int>(static_cast<uint32_t>(hi * 16 + lo) % shard_count);
}

void LocalBus::set_current_shard(uint32_t shard) {
  t_current_shard = shard;
}
uint32_t LocalBus::current_shard() {
  return t_current_shard;
}

void LocalBus::reply(uint32_t origin, const PeerId& from, std::string ack_id, uint8_t verdict,
                     std::string reason) {
  if (origin >= shard_count()) return;
  run_on(origin, [this, origin, from, verdict, ack_id = std::move(ack_id), reason = std::move(reason)] {
    if (observer_ && verdict == Admission::absent) observer_->peer_not_found(origin);
    if (observer_ && verdict == Admission::forbidden) observer_->relay_forbidden(origin);
    Endpoint* sender = shards_[origin].table->find(from);
    if (!sender) return;
    switch (verdict) {
      case Admission::ok: sender->deliver(make_body(proto::ack(ack_id))); break;
      case Admission::absent:
        sender->deliver(
            make_body(proto::error(ack_id, proto::ErrorCode::peer_not_found, "no such peer in this room")));
        break;
      case Admission::forbidden:
        sender->deliver(make_body(proto::error(ack_id, proto::ErrorCode::forbidden, reason)));
        break;
      default:
        sender->deliver(make_body(
            proto::error(ack_id, proto::ErrorCode::unavailable, "the recipient's node cannot be reached")));
        break;
    }
  });
}

void LocalBus::to_peer(const PeerId& from, const PeerId& to, const RoomId& room, Relay frame,
                       std::string ack_id) {
  const uint32_t origin = current_shard();
  const int target = shard_of(to, shard_count());
  if (remote_ && (target < 0 || !maybe_local(to)))
    return remote_->to_peer(origin, from, to, room, std::move(frame), std::move(ack_id));
  if (target < 0) return reply(origin, from, std::move(ack_id), Admission::absent, {});
  run_on(static_cast<uint32_t>(target), [this, origin, from, target, to, room, frame = std::move(frame),
                                         ack_id = std::move(ack_id)]() mutable {
    Endpoint* e = shards_[static_cast<uint32_t>(target)].table->find(to);
    if (!e && remote_)  // not here (any more): perhaps on another node
      return remote_->to_peer(origin, from, to, room, std::move(frame), std::move(ack_id));
    const Admission a = e ? e->admit(room, frame) : Admission{Admission::absent, {}};
    if (a.verdict == Admission::ok) {
      e->deliver(frame.body);
      if (observer_)
        observer_->relay_delivered(static_cast<uint32_t>(target), frame.type,
                                   Clock::now() - frame.received_at);
    }
    if (a.verdict == Admission::ok && !ack_id.empty() && remote_)
      return remote_->barrier([this, origin, from, ack_id = std::move(ack_id)]() mutable {
        reply(origin, from, std::move(ack_id), Admission::ok, {});
      });
    if (a.verdict != Admission::ok || !ack_id.empty())
      reply(origin, from, std::move(ack_id), a.verdict, std::string(a.reason));
  });
}

void LocalBus::deliver_here(const PeerId& to, const RoomId& room, Relay frame,
                            std::function<void(Admission)> answer) {
  const int target = shard_of(to, shard_count());
  if (target < 0) return answer({Admission::absent, {}});
  const auto shard = static_cast<uint32_t>(target);
  run_on(shard, [this, shard, to, room, frame = std::move(frame), answer = std::move(answer)] {
    Endpoint* e = shards_[shard].table->find(to);
    const Admission a = e ? e->admit(room, frame) : Admission{Admission::absent, {}};
    if (a.verdict == Admission::ok) {
      e->deliver(frame.body);
      if (observer_) observer_->relay_delivered(shard, frame.type, Clock::now() - frame.received_at);
    }
    answer(a);
  });
}

void LocalBus::to_room_here(const RoomId& room, const PeerId& except, const Relay& frame) {
  for (uint32_t s = 0; s < shard_count(); ++s)
    run_on(s, [this, s, room, except, frame] { deliver_local(s, room, except, frame); });
}

void LocalBus::deliver_local(uint32_t shard, const RoomId& room, const PeerId& except, const Relay& frame) {
  const auto* members = shards_[shard].table->members(room);
  if (!members) return;
  size_t n = 0;
  for (Endpoint* e : *members)
    if (e->peer_id() != except && e->admit(room, frame).verdict == Admission::ok) {
      e->deliver(frame.body);
      ++n;
    }
  if (observer_ && n) {
    const auto latency = Clock::now() - frame.received_at;  // one clock read per loop, not per peer
    for (size_t i = 0; i < n; ++i) observer_->relay_delivered(shard, frame.type, latency);
  }
}

void LocalBus::to_room(const RoomId& room, const PeerId& except, Relay frame) {
  const uint32_t here = current_shard();
  for (uint32_t s = 0; s < shard_count(); ++s) {
    if (s == here) continue;
    boost::asio::post(*shards_[s].ioc,
                      [this, s, room, except, frame] { deliver_local(s, room, except, frame); });
  }
  deliver_local(here, room, except, frame);
  if (remote_) remote_->to_room(room, except, frame);
}

void LocalBus::to_member(uint32_t home, const PeerId& peer, const RoomId& room, Body body) {
  if (home >= shard_count()) return;
  run_on(home, [this, home, peer, room, body = std::move(body)] {
    Endpoint* e = shards_[home].table->find(peer);
    if (e && e->in_room(room)) e->deliver(body);
  });
}

}  // namespace sb::routing
