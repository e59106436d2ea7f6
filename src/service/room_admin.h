// service/room_admin.h — what an operator can see and do to rooms.
//
// The admin REST API (admin_api.h) is written against this interface. Every
// call is synchronous: after it returns, the change is visible to every later
// call (peers hear about it by messages posted to their own loops).
// - The Hub implements it over its room directory (one node): one lock, O(room
//   size) under it, O(rooms) for the listing.
// - ClusterRoomAdmin over Redis (cluster mode): one or two Redis round trips,
//   waited for, so it runs off the event loops (HttpContext::admin_async).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "rtc/room_directory.h"

namespace sb::service {

struct RoomInfo {
  std::string name;
  std::string kind;
  std::string metadata;  // JSON object text
  size_t peers = 0;
  size_t max_peers = 0;
  int64_t created_at = 0;  // Unix seconds
  bool persistent = false;
};

struct PeerInfo {
  std::string peer;
  std::string user;
  std::string name;      // may be empty
  std::string metadata;  // JSON object text
  int64_t joined_at = 0;
};

enum class AdminStatus { ok, no_room, no_peer, exists };

// Thrown by an implementation that cannot reach the rooms (cluster mode, Redis
// unreachable): the admin API answers 503.
struct RoomAdminUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RoomAdmin {
 public:
  virtual ~RoomAdmin() = default;

  virtual std::vector<RoomInfo> rooms() = 0;
  virtual std::optional<RoomInfo> room(const RoomId& room) = 0;
  // nullopt: no such room.
  virtual std::optional<std::vector<PeerInfo>> peers(const RoomId& room) = 0;
  // Pre-creates a persistent room; `exists` when the name is taken. On ok, `out` describes it.
  virtual AdminStatus create_room(const RoomId& room, rtc::RoomConfig cfg, RoomInfo& out) = 0;
  virtual AdminStatus set_room_metadata(const RoomId& room, std::string metadata, RoomInfo& out) = 0;
  // Every peer gets `room-closed` and is out of the room; the room is gone.
  virtual AdminStatus close_room(const RoomId& room) = 0;
  // The peer gets `kicked {room, reason}`; the others `peer-left` with reason "kicked".
  virtual AdminStatus kick(const RoomId& room, const PeerId& peer, std::string_view reason) = 0;
  // A `message` from "server" with `data` (valid JSON text) to `to`, or to every
  // peer of the room; `recipients` is how many it was handed to.
  virtual AdminStatus send(const RoomId& room, const std::optional<PeerId>& to, std::string_view data,
                           size_t& recipients) = 0;
};

}  // namespace sb::service
