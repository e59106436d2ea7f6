// routing/cluster_keys.h — the Redis keys and channels of cluster mode, and
// the small reply helpers the cluster's files share (see
// routing/cluster_scripts.h for what each key holds). Internal to routing/.
#pragma once

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "routing/cluster_wire.h"
#include "routing/redis_connection.h"
#include "rtc/room_directory.h"

namespace sb::routing::keys {

// `prefix` + `id` + `suffix`, built in one allocation.
inline std::string key(std::string_view prefix, std::string_view id, std::string_view suffix = {}) {
  std::string k;
  k.reserve(prefix.size() + id.size() + suffix.size());
  k.append(prefix).append(id).append(suffix);
  return k;
}

struct RoomKeys {
  std::string meta, members, vers, channel;
  explicit RoomKeys(const RoomId& r)
      : meta(key("sb:room:{", r.str(), "}")),
        members(meta + ":members"),
        vers(meta + ":vers"),
        channel(key("sb:r:", r.str())) {}
};
inline const std::string kRooms = "sb:rooms";
inline const std::string kPeerCount = "sb:peers";  // room memberships in the whole cluster
inline constexpr std::string_view kRoomChannelPrefix = "sb:r:";

inline std::string node_members(std::string_view node) {
  return key("sb:nodemembers:", node);
}
inline std::string node_channel(std::string_view node) {
  return key("sb:n:", node);
}
inline std::string peer_rooms(std::string_view peer) {
  return key("sb:pr:", peer);
}
inline std::string session_key(const SessionId& s) {
  return key("sb:s:", s.str());
}
inline std::string peer_node_key(const PeerId& p) {
  return key("sb:pn:", p.str());
}
inline std::string log_key(const PeerId& p) {
  return key("sb:log:", p.str());
}
inline std::string inbox_key(const PeerId& p) {
  return key("sb:in:", p.str());
}
inline std::string inbox_size_key(const PeerId& p) {
  return key("sb:inb:", p.str());
}
inline std::string node_sessions(const std::string& node) {
  return "sb:nodesessions:" + node;
}

inline std::shared_ptr<const std::string> make_body(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}
inline uint64_t to_u64(std::string_view s) {
  uint64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}
inline bool is_ok(const RedisReply* r) {
  return r != nullptr && !r->is_error();
}

// A room's settings from its meta hash (HGETALL: field, value, ...).
inline rtc::Room header_from(const RedisReply& meta, uint64_t* ver = nullptr, bool* persistent = nullptr) {
  rtc::Room h;
  for (size_t i = 0; i + 1 < meta.elements.size(); i += 2) {
    const std::string& k = meta.elements[i].str;
    const std::string& v = meta.elements[i + 1].str;
    if (k == "kind")
      h.kind = v;
    else if (k == "max_peers")
      h.max_peers = to_u64(v);
    else if (k == "metadata")
      h.metadata = v;
    else if (k == "created_at")
      h.created_at = static_cast<int64_t>(to_u64(v));
    else if (k == "persistent")
      h.persistent = v == "1";
    else if (k == "ver" && ver)
      *ver = to_u64(v);
  }
  if (persistent) *persistent = h.persistent;
  return h;
}

// A room's members (HGETALL of its members hash) in join order (by their join
// versions, HGETALL of its vers hash); unreadable entries are skipped. O(n log n).
inline std::vector<rtc::Member> members_in_join_order(const RedisReply& members, const RedisReply& vers) {
  std::unordered_map<std::string, uint64_t> ver_of;
  const auto& vv = vers.elements;
  for (size_t i = 0; i + 1 < vv.size(); i += 2) ver_of[vv[i].str] = to_u64(vv[i + 1].str);
  std::vector<std::pair<uint64_t, rtc::Member>> ordered;
  const auto& mm = members.elements;
  for (size_t i = 0; i + 1 < mm.size(); i += 2) {
    rtc::Member x;
    if (wire::parse_member(mm[i + 1].str, x)) ordered.emplace_back(ver_of[mm[i].str], std::move(x));
  }
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<rtc::Member> out;
  out.reserve(ordered.size());
  for (auto& [v, x] : ordered) out.push_back(std::move(x));
  return out;
}

}  // namespace sb::routing::keys
