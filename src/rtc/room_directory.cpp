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

JoinStatus RoomDirectory::join(const RoomId& room, Member m) {
  auto [it, created] = rooms_.try_emplace(room);
  Room& r = it->second;
  if (created) {
    r.id = room;
    r.max_peers = limits_.max_peers;
  }
  if (r.find(m.peer)) return JoinStatus::already_joined;
  if (r.members.size() >= r.max_peers) {
    if (r.members.empty()) rooms_.erase(it);  // only when max_peers is 0
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
  if (members.empty()) rooms_.erase(it);
  return true;
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
