// rtc/room_directory.h — who is in which room.
//
// Pure bookkeeping: no I/O, no clocks, no threads. The service layer owns one
// directory and serialises access to it; it turns each result into events for
// the peers concerned. A room exists from its first join to its last leave,
// unless it was pre-created (create()): such a room stays, empty or not, until
// close(). Times are Unix seconds given by the caller (this file reads no clock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"

namespace sb::rtc {

// Room names: 1-64 characters of [A-Za-z0-9._-].
bool valid_room_name(std::string_view name);

struct Member {
  PeerId peer;
  UserId user;
  std::string name;       // display name, may be empty
  std::string metadata;   // JSON object text, "{}" when none was given
  uint32_t home = 0;      // where the peer's connection lives (a shard, later a node); opaque here
  int64_t joined_at = 0;  // Unix seconds, as given to join()
};

// How a room is set up: by its first join (the defaults) or by create().
struct RoomConfig {
  std::string kind = "meeting";  // only "meeting" for now
  size_t max_peers = 0;          // 0: the directory's default (RoomLimits::max_peers)
  std::string metadata = "{}";   // JSON object text, for operators and webhooks; never sent to peers
};

struct Room {
  RoomId id;
  std::vector<Member> members;  // in join order
  size_t max_peers = 0;
  std::string kind = "meeting";
  std::string metadata = "{}";
  int64_t created_at = 0;   // Unix seconds
  bool persistent = false;  // pre-created: stays when empty, until close()

  const Member* find(const PeerId& peer) const;
  Member* find(const PeerId& peer);
};

struct RoomLimits {
  size_t max_peers = 50;
};

enum class JoinStatus { ok, already_joined, room_full };
enum class CreateStatus { ok, exists };

class RoomDirectory {
 public:
  explicit RoomDirectory(RoomLimits limits = {}) : limits_(limits) {}

  // Adds `m` to `room`, creating the room if needed. On ok, the new member is
  // the last of room->members and every other member is someone to notify.
  // Cost: O(members) to reject a duplicate; rooms are small (default cap 50).
  // `now` stamps a room created by this join. Cost: O(members) to reject a
  // duplicate; rooms are small (default cap 50).
  JoinStatus join(const RoomId& room, Member m, int64_t now = 0);

  // Removes `peer` from `room`; removes the room when it becomes empty, unless
  // it is persistent. Returns false when the peer was not in the room. Cost: O(members).
  bool leave(const RoomId& room, const PeerId& peer);

  // Pre-creates an empty persistent room with `cfg`. `exists` (and no change)
  // when a room of that name exists, pre-created or joined. O(1).
  CreateStatus create(const RoomId& room, RoomConfig cfg, int64_t now);

  // Removes `room` whatever it holds and returns it, members included, so the
  // caller can tell them; nullopt when there is no such room. O(members).
  std::optional<Room> close(const RoomId& room);

  // Replaces the room's metadata. False when there is no such room. O(1).
  bool set_metadata(const RoomId& room, std::string metadata);

  // Every room, sorted by name. O(rooms log rooms); for operators, not hot paths.
  std::vector<const Room*> list() const;

  // Replaces the metadata of `peer` in `room`. False when not a member.
  bool update(const RoomId& room, const PeerId& peer, std::string metadata);

  const Room* find(const RoomId& room) const;
  size_t room_count() const { return rooms_.size(); }
  size_t peer_count() const { return peers_; }

 private:
  RoomLimits limits_;
  std::unordered_map<RoomId, Room> rooms_;
  size_t peers_ = 0;  // memberships over all rooms
};

}  // namespace sb::rtc
