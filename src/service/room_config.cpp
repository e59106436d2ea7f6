#include "service/room_config.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>

#include "proto/message.h"

namespace sb::service {

namespace json = boost::json;

std::string check_named_room(const NamedRoom& r) {
  std::string_view p = r.pattern;
  if (!p.empty() && p.back() == '*') {
    p.remove_suffix(1);
    if (!p.empty() && !rtc::valid_room_name(p))
      return "rooms." + r.pattern + ": a pattern is a room-name prefix followed by '*'";
  } else if (!rtc::valid_room_name(p)) {
    return "rooms." + r.pattern + ": not a room name (1-64 characters of [A-Za-z0-9._-]) or pattern";
  }
  if (!rtc::valid_room_kind(r.kind))
    return "rooms." + r.pattern + ".kind must be \"meeting\" or \"broadcast\"";
  return {};
}

const NamedRoom* match_named_room(const std::vector<NamedRoom>& rooms, std::string_view room) {
  const NamedRoom* best = nullptr;
  size_t best_len = 0;
  for (const NamedRoom& r : rooms) {
    std::string_view p = r.pattern;
    if (p.empty() || p.back() != '*') {
      if (p == room) return &r;  // an exact name wins
      continue;
    }
    p.remove_suffix(1);
    if (room.starts_with(p) && (!best || p.size() > best_len)) {
      best = &r;
      best_len = p.size();
    }
  }
  return best;
}

RoomConfigResult parse_room_config(std::string_view text, const rtc::RoomLimits& limits) {
  RoomConfigResult out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    out.error = "room_config is not a JSON object";
    return out;
  }
  rtc::RoomConfig cfg;
  const json::object& o = v.as_object();
  int64_t max_peers = 0;
  for (const auto& [key, value] : o) {
    if (key == "kind") {
      if (!value.is_string() || !rtc::valid_room_kind(value.as_string())) {
        out.error = "room_config.kind must be \"meeting\" or \"broadcast\"";
        return out;
      }
      cfg.kind = std::string(value.as_string());
    } else if (key == "max_peers") {
      if (value.is_int64())
        max_peers = value.as_int64();
      else if (value.is_uint64())
        max_peers = INT64_MAX;
      else
        max_peers = -1;
      if (max_peers < 1) {
        out.error = "room_config.max_peers must be an integer >= 1";
        return out;
      }
    } else if (key == "metadata") {
      if (!value.is_object()) {
        out.error = "room_config.metadata must be an object";
        return out;
      }
      cfg.metadata = json::serialize(value);
      if (cfg.metadata.size() > proto::kMaxMetadataBytes) {
        out.error = "room_config.metadata is larger than 4096 bytes";
        return out;
      }
    } else {
      out.error = "room_config has an unknown member '" + std::string(key) + "'";
      return out;
    }
  }
  const size_t cap = limits.cap(cfg.kind);
  cfg.max_peers = max_peers == 0 ? 0 : std::min(static_cast<size_t>(max_peers), cap);
  out.config = std::move(cfg);
  return out;
}

rtc::RoomConfig room_config_for(std::string_view room, const std::vector<NamedRoom>& named,
                                const std::optional<rtc::RoomConfig>& from_token) {
  if (const NamedRoom* n = match_named_room(named, room)) {
    rtc::RoomConfig cfg;
    cfg.kind = n->kind;
    cfg.max_peers = n->max_peers;
    return cfg;
  }
  if (from_token) return *from_token;
  return {};
}

}  // namespace sb::service
