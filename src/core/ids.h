// core/ids.h — typed identifiers.
//
// A PeerId and a RoomId are both strings on the wire, but mixing them up in an
// interface is a bug the compiler should catch. Each id is a thin wrapper around
// std::string with a tag type; comparison and hashing are those of the string.
#pragma once

#include <compare>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace sb {

template <class Tag>
class Id {
 public:
  Id() = default;
  explicit Id(std::string v) : value_(std::move(v)) {}
  explicit Id(std::string_view v) : value_(v) {}
  explicit Id(const char* v) : value_(v) {}

  const std::string& str() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  friend bool operator==(const Id&, const Id&) = default;
  friend auto operator<=>(const Id&, const Id&) = default;

 private:
  std::string value_;
};

using PeerId = Id<struct PeerIdTag>;        // one WebSocket connection's identity in rooms
using RoomId = Id<struct RoomIdTag>;        // a room name, validated by rtc::valid_room_name
using UserId = Id<struct UserIdTag>;        // the token's `sub`
using SessionId = Id<struct SessionIdTag>;  // a signaling session (outlives a connection on resume)

}  // namespace sb

template <class Tag>
struct std::hash<sb::Id<Tag>> {
  size_t operator()(const sb::Id<Tag>& id) const noexcept { return std::hash<std::string>{}(id.str()); }
};
