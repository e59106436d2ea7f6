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

bool valid_room_kind(std::string_view kind) {
  return kind == kMeeting || kind == kBroadcast;
}

size_t Room::position(const PeerId& peer) const {
  if (!index) {
    for (size_t i = 0; i < members.size(); ++i)
      if (members[i].peer == peer) return i;
    return members.size();
  }
  auto it = index->find(peer);
  return it == index->end() ? members.size() : it->second;
}

const Member* Room::find(const PeerId& peer) const {
  const size_t i = position(peer);
  return i < members.size() ? &members[i] : nullptr;
}

Member* Room::find(const PeerId& peer) {
  const size_t i = position(peer);
  return i < members.size() ? &members[i] : nullptr;
}

std::vector<const Member*> Room::contacts(const Member& m) const {
  std::vector<const Member*> out;
  if (!in_contact(broadcast(), m.publisher, /*other publisher=*/false)) {  // a broadcast viewer
    out.reserve(publishers.size());
    for (const PeerId& p : publishers)
      if (p != m.peer)
        if (const Member* x = find(p)) out.push_back(x);
    return out;
  }
  out.reserve(members.size());
  for (const Member& x : members)
    if (x.peer != m.peer) out.push_back(&x);
  return out;
}

JoinStatus RoomDirectory::join(const RoomId& room, Member m, int64_t now, const RoomConfig& created) {
  auto [it, is_new] = rooms_.try_emplace(room);
  Room& r = it->second;
  if (is_new) {
    r.id = room;
    r.kind = created.kind;
    r.max_peers = created.max_peers ? created.max_peers : limits_.cap(r.kind);
    r.metadata = created.metadata.empty() ? std::string("{}") : created.metadata;
    r.created_at = now;
  }
  if (r.find(m.peer)) return JoinStatus::already_joined;
  if (r.members.size() >= r.max_peers) {
    if (r.members.empty() && !r.persistent) rooms_.erase(it);  // only when max_peers is 0
    return JoinStatus::room_full;
  }
  if (m.publisher && r.broadcast()) r.publishers.push_back(m.peer);
  r.members.push_back(std::move(m));
  if (r.index) {
    r.index->emplace(r.members.back().peer, r.members.size() - 1);
  } else if (r.members.size() > Room::kLinearFind) {  // large enough for a hash index
    r.index = std::make_unique<std::unordered_map<PeerId, size_t>>();
    r.index->reserve(r.members.size());
    for (size_t i = 0; i < r.members.size(); ++i) r.index->emplace(r.members[i].peer, i);
  }
  ++peers_;
  return JoinStatus::ok;
}

bool RoomDirectory::leave(const RoomId& room, const PeerId& peer) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return false;
  Room& r = it->second;
  const size_t i = r.position(peer);
  if (i == r.members.size()) return false;
  if (r.members[i].publisher && r.broadcast()) std::erase(r.publishers, peer);
  r.members.erase(r.members.begin() + static_cast<std::ptrdiff_t>(i));
  if (r.members.size() <= Room::kLinearFind) {
    r.index.reset();  // small again: searched in order
  } else if (r.index) {
    r.index->erase(peer);
    for (size_t j = i; j < r.members.size(); ++j) (*r.index)[r.members[j].peer] = j;
  }
  --peers_;
  if (r.members.empty() && !r.persistent) rooms_.erase(it);
  return true;
}

CreateStatus RoomDirectory::create(const RoomId& room, RoomConfig cfg, int64_t now) {
  auto [it, created] = rooms_.try_emplace(room);
  if (!created) return CreateStatus::exists;
  Room& r = it->second;
  r.id = room;
  r.max_peers = cfg.max_peers ? cfg.max_peers : limits_.cap(cfg.kind);
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

bool RoomDirectory::relocate(const RoomId& room, const PeerId& peer, ThinString node, uint32_t home) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return false;
  Member* m = it->second.find(peer);
  if (!m) return false;
  m->node = std::move(node);
  m->home = home;
  return true;
}

const Room* RoomDirectory::find(const RoomId& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

}  // namespace sb::rtc
