#include "rtc/room_directory.h"

#include <algorithm>

namespace sb::rtc {

bool valid_room_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

const Member* Room::find(const PeerId& peer) const {
  for (const auto& m : members)
    if (m.peer == peer) return &m;
  return nullptr;
}

Member* Room::find(const PeerId& peer) {
  for (auto& m : members)
    if (m.peer == peer) return &m;
  return nullptr;
}

JoinStatus RoomDirectory::join(const RoomId& room, Member m, int64_t now) {
  auto [it, created] = rooms_.try_emplace(room);
  Room& r = it->second;
  if (created) {
    r.id = room;
    r.max_peers = limits_.max_peers;
    r.created_at = now;
  }
  if (r.find(m.peer)) return JoinStatus::already_joined;
  if (r.members.size() >= r.max_peers) {
    if (r.members.empty() && !r.persistent) rooms_.erase(it);  // only when max_peers is 0
    return JoinStatus::room_full;
  }
  r.members.push_back(std::move(m));
  ++peers_;
  return JoinStatus::ok;
}

bool RoomDirectory::leave(const RoomId& room, const PeerId& peer) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return false;
  auto& members = it->second.members;
  auto m = std::find_if(members.begin(), members.end(), [&](const Member& x) { return x.peer == peer; });
  if (m == members.end()) return false;
  members.erase(m);
  --peers_;
  if (members.empty() && !it->second.persistent) rooms_.erase(it);
  return true;
}

CreateStatus RoomDirectory::create(const RoomId& room, RoomConfig cfg, int64_t now) {
  auto [it, created] = rooms_.try_emplace(room);
  if (!created) return CreateStatus::exists;
  Room& r = it->second;
  r.id = room;
  r.max_peers = cfg.max_peers ? cfg.max_peers : limits_.max_peers;
  r.kind = std::move(cfg.kind);
  r.metadata = cfg.metadata.empty() ? std::string("{}") : std::move(cfg.metadata);
  r.created_at = now;
  r.persistent = true;
  return CreateStatus::ok;
}

std::optional<Room> RoomDirectory::close(const RoomId& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return std::nullopt;
  Room r = std::move(it->second);
  rooms_.erase(it);
  peers_ -= r.members.size();
  return r;
}

bool RoomDirectory::set_metadata(const RoomId& room, std::string metadata) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return false;
  it->second.metadata = std::move(metadata);
  return true;
}

std::vector<const Room*> RoomDirectory::list() const {
  std::vector<const Room*> out;
  out.reserve(rooms_.size());
  for (const auto& [id, r] : rooms_) out.push_back(&r);
  std::sort(out.begin(), out.end(), [](const Room* a, const Room* b) { return a->id.str() < b->id.str(); });
  return out;
}

bool RoomDirectory::update(const RoomId& room, const PeerId& peer, std::string metadata) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return false;
  Member* m = it->second.find(peer);
  if (!m) return false;
  m->metadata = std::move(metadata);
  return true;
}

const Room* RoomDirectory::find(const RoomId& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

}  // namespace sb::rtc
