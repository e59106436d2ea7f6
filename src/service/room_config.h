// service/room_config.h — how a room is set up when a join creates it.
//
// A room's kind and peer cap are fixed when it is created. For a room created
// by a join they come from, in this order:
//   1. the server's named-room configuration (`[rooms.NAME]` in the TOML file;
//      NAME is a room name or a pattern ending in '*'; an exact name wins over
//      patterns, a longer pattern over a shorter one);
//   2. the `room_config` claim of the joining token, a JSON object
//      {"kind": "meeting"|"broadcast", "max_peers": N, "metadata": {...}};
//   3. the defaults: a meeting room with the meeting cap.
// A room that exists already (joined or pre-created) keeps its configuration:
// a later joiner's room_config is ignored.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtc/room_directory.h"

namespace sb::service {

// One `[rooms.NAME]` entry of the configuration file.
struct NamedRoom {
  std::string pattern;           // exact room name, or a prefix followed by '*' ("live-*", "*")
  std::string kind = "meeting";  // "meeting" or "broadcast"
  size_t max_peers = 0;          // 0: the server's cap for the kind
};

// Checks a named-room entry: a valid room name, or a prefix of one followed by
// '*'; a valid kind. Returns the problem, or an empty string.
std::string check_named_room(const NamedRoom& r);

// The entry for `room`: the exact match, else the longest matching pattern;
// null when none matches. O(entries × pattern length).
const NamedRoom* match_named_room(const std::vector<NamedRoom>& rooms, std::string_view room);

struct RoomConfigResult {
  std::optional<rtc::RoomConfig> config;  // set when valid
  std::string error;                      // why the token's room_config is invalid
};

// Reads a token's `room_config` claim (JSON object text, as kept in
// auth::Identity::room_config_json; empty when the token has none) into a
// RoomConfig. Members: `kind` ("meeting" or "broadcast"), `max_peers` (integer
// ≥ 1; a value above the server's cap for the kind is lowered to that cap),
// `metadata` (object, ≤ 4096 bytes serialized). Any other member, or a member
// of the wrong type, is an error. `limits` gives the caps. Cost: one JSON
// parse of the claim (small).
RoomConfigResult parse_room_config(std::string_view json, const rtc::RoomLimits& limits);

// The configuration a join would create `room` with: named entry, else the
// token's parsed room_config (`from_token`), else defaults (see above).
rtc::RoomConfig room_config_for(std::string_view room, const std::vector<NamedRoom>& named,
                                const std::optional<rtc::RoomConfig>& from_token);

}  // namespace sb::service
