// rtc/room_directory.h — who is in which room.
//
// Pure bookkeeping: no I/O, no clocks, no threads. The service layer owns one
// directory and serialises access to it; it turns each result into events for
// the peers concerned. A room exists from its first join to its last leave,
// unless it was pre-created (create()): such a room stays, empty or not, until
// close(). Times are Unix seconds given by the caller (this file reads no clock).
//
// Room kinds. A `meeting` room is a full mesh: every member sees and may signal
// every other. A `broadcast` room (a live stream) has publishers (members whose
// token grants `publish`) and viewers (the rest): a publisher sees and may
// signal everyone, a viewer sees and may signal only the publishers. The
// relation is symmetric (a sees b exactly when b sees a), so the members told
// about a member's join, leave or update are exactly those it sees. The kind is
// fixed when the room is created (by its first join, or by create()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/thin_string.h"

namespace sb::rtc {

// Room names: 1-64 characters of [A-Za-z0-9._-].
bool valid_room_name(std::string_view name);

inline constexpr std::string_view kMeeting = "meeting";
inline constexpr std::string_view kBroadcast = "broadcast";

// "meeting" or "broadcast".
bool valid_room_kind(std::string_view kind);

// Whether two members of a room see each other (membership events, `joined`)
// and may relay to each other: always in a meeting room; in a broadcast room
// unless both are viewers. Symmetric. O(1).
constexpr bool in_contact(bool broadcast, bool a_publisher, bool b_publisher) {
  return !broadcast || a_publisher || b_publisher;
}

// One per peer per room, so its size is a cost of every connection: the
// texts most members lack are ThinStrings (8 bytes, no block while empty).
// 104 bytes.
struct Member {
  PeerId peer;
  UserId user;
  ThinString name;         // display name, may be empty
  ThinString metadata;     // JSON object text; empty when none was given (read as "{}")
  uint32_t home = 0;       // where the peer's connection lives: its event loop (shard); opaque here
  bool publisher = false;  // its token grants `publish`; in a broadcast room: a publisher, else a viewer
  int64_t joined_at = 0;   // Unix seconds, as given to join()
  ThinString node = {};    // cluster mode: the node holding its session; empty on a single node
};

// How a room is set up: by its first join (the defaults) or by create().
struct RoomConfig {
  std::string kind = "meeting";  // "meeting" or "broadcast" (valid_room_kind; the caller checks)
  size_t max_peers = 0;          // 0: the directory's default for the kind (RoomLimits)
  std::string metadata = "{}";   // JSON object text, for operators and webhooks; never sent to peers
};

// Changed only through RoomDirectory, which keeps `index` and `publishers` in
// step with `members`.
struct Room {
  RoomId id;
  std::vector<Member> members;  // in join order
  size_t max_peers = 0;
  std::string kind = "meeting";
  std::string metadata = "{}";
  int64_t created_at = 0;   // Unix seconds
  bool persistent = false;  // pre-created: stays when empty, until close()
  // Broadcast rooms only: the members with `publisher`, in join order (what a
  // viewer is in contact with). A meeting room keeps no list: every member is
  // in contact with every other.
  std::vector<PeerId> publishers;
  // peer -> position in `members`, kept only while the room has more than
  // kLinearFind members: a small room is searched in order instead, which is
  // as fast and saves a hash table (buckets and a node per member) in every
  // room of two. Out of line, so that a small room does not carry the empty
  // table's 56 bytes either.
  std::unique_ptr<std::unordered_map<PeerId, size_t>> index;
  static constexpr size_t kLinearFind = 16;

  bool broadcast() const { return kind == kBroadcast; }
  // O(1) (hash lookup), or O(members) up to kLinearFind members.
  const Member* find(const PeerId& peer) const;
  Member* find(const PeerId& peer);
  // The position of `peer` in `members`, or members.size() when it is not there. Cost as find().
  size_t position(const PeerId& peer) const;

  // The members `m` is in contact with (in_contact), `m` excluded, in join
  // order for a meeting room or a publisher; publishers in join order for a
  // broadcast viewer. Cost: O(members) for a meeting room or a publisher,
  // O(publishers) for a broadcast viewer — so a viewer's join, leave or update
  // in a 10,000-viewer room touches only the publishers.
  std::vector<const Member*> contacts(const Member& m) const;
};

struct RoomLimits {
  size_t max_peers = 50;               // meeting rooms
  size_t max_broadcast_peers = 10000;  // broadcast rooms

  size_t cap(std::string_view kind) const { return kind == kBroadcast ? max_broadcast_peers : max_peers; }
};

enum class JoinStatus { ok, already_joined, room_full };
enum class CreateStatus { ok, exists };

class RoomDirectory {
 public:
  explicit RoomDirectory(RoomLimits limits = {}) : limits_(limits) {}

  // Adds `m` to `room`, creating the room if needed; on ok the new member is
  // the last of room->members. A room created by this join takes `created`
  // (kind, max_peers — 0 means the cap for the kind — and metadata) and is stamped
  // `now`; for an existing room `created` is ignored: a later joiner cannot
  // change the kind or the cap. Cost: O(1) amortised (hash lookups).
  JoinStatus join(const RoomId& room, Member m, int64_t now = 0, const RoomConfig& created = {});

  // Removes `peer` from `room`; removes the room when it becomes empty, unless
  // it is persistent. Returns false when the peer was not in the room. Cost:
  // O(members after it) to close the gap and re-index, plus O(publishers).
  bool leave(const RoomId& room, const PeerId& peer);

  // Pre-creates an empty persistent room with `cfg` (max_peers 0: the cap for
  // the kind). `exists` (and no change) when a room of that name exists,
  // pre-created or joined. O(1).
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

  // Records that `peer`'s session is now held by `node`, on its loop `home`
  // (its session moved there); nothing else changes. False when not a member. O(members).
  bool relocate(const RoomId& room, const PeerId& peer, ThinString node, uint32_t home);

  const Room* find(const RoomId& room) const;
  size_t room_count() const { return rooms_.size(); }
  size_t peer_count() const { return peers_; }

 private:
  RoomLimits limits_;
  std::unordered_map<RoomId, Room> rooms_;
  size_t peers_ = 0;  // memberships over all rooms
};

}  // namespace sb::rtc
