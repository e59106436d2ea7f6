// core/ids.h — typed identifiers.
//
// A PeerId and a RoomId are both strings on the wire, but mixing them up in an
// interface is a bug the compiler should catch. Each id is a SmallString with a
// tag type (ids of up to 31 bytes, which is every id the server makes, take no
// heap block in any of the tables that copy them); comparison and hashing are
// those of the bytes.
#pragma once

#include <compare>
#include <functional>
#include <string>
#include <string_view>

#include "core/small_string.h"

namespace sb {

template <class Tag>
class Id {
 public:
  Id() = default;
  explicit Id(std::string_view v) : value_(v) {}
  explicit Id(const char* v) : value_(std::string_view(v)) {}

  // The id's bytes; valid while this id lives unmoved (short ids are stored inline). O(1).
  std::string_view str() const noexcept { return value_.view(); }
  // A std::string copy, for the few interfaces that need one.
  std::string string() const { return std::string(value_.view()); }
  bool empty() const noexcept { return value_.empty(); }

  friend bool operator==(const Id& a, const Id& b) noexcept { return a.str() == b.str(); }
  friend std::strong_ordering operator<=>(const Id& a, const Id& b) noexcept { return a.str() <=> b.str(); }

 private:
  SmallString value_;
};

using PeerId = Id<struct PeerIdTag>;        // one WebSocket connection's identity in rooms
using RoomId = Id<struct RoomIdTag>;        // a room name, validated by rtc::valid_room_name
using UserId = Id<struct UserIdTag>;        // the token's `sub`
using SessionId = Id<struct SessionIdTag>;  // a signaling session (outlives a connection on resume)

}  // namespace sb

template <class Tag>
struct std::hash<sb::Id<Tag>> {
  size_t operator()(const sb::Id<Tag>& id) const noexcept { return std::hash<std::string_view>{}(id.str()); }
};
