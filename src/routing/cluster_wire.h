// routing/cluster_wire.h — what nodes of a cluster say to each other through Redis.
//
// Pure encoding, no I/O. Two kinds of text travel:
// - room members and membership events, as JSON: members are stored in Redis
//   hashes as member_json(); the Lua scripts (routing/cluster_scripts.h) wrap
//   them into events `{"ev":"join|leave|update","ver":N,...}` published on the
//   room's channel, so every node holding members of the room applies the same
//   changes in the same order (the room's `ver`);
// - relays between nodes, in a compact binary-safe form: a tag byte, then
//   fields as `<decimal length>:<bytes>`; the relayed frame body travels as is,
//   never re-encoded.
// Every decoder treats its input as untrusted (another node may run another
// version): false on anything malformed, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "proto/message.h"
#include "rtc/room_directory.h"

namespace sb::routing::wire {

// {"peer","user","name","metadata" (JSON text as a string),"node","shard","joined_at","pub"}.
// `home` travels as "shard". O(size).
std::string member_json(const rtc::Member& m);
bool parse_member(std::string_view json, rtc::Member& out);

struct MemberEvent {
  // move: the member's session is now held by another node (member.node,
  // member.home); the nodes update their mirrors and tell no client.
  // room: an operator set the room's metadata (in member.metadata); no client is told.
  enum Kind : uint8_t { join, leave, update, move, room };
  Kind kind = join;
  uint64_t ver = 0;
  rtc::Member member;  // join, update, move: the member; leave: only peer and publisher
  std::string reason;  // leave: left|disconnected|kicked|node-lost|room-closed|...
  std::string why;     // leave, kicked: the operator's reason
};
// A membership event as published by the scripts. O(size).
bool parse_event(std::string_view json, MemberEvent& out);

// A unicast relay to `to`, sent on the channel of the node that holds it.
struct PeerRelay {
  std::string origin_node;  // where the sender is: the reply goes there
  uint32_t origin_shard = 0;
  PeerId from;
  PeerId to;
  RoomId room;
  proto::MsgType type = proto::MsgType::message;
  bool from_viewer = false;
  std::string ack_id;  // empty: the sender wants no ack
  std::string body;    // the open relay frame, as the recipient gets it
};

// An encoded PeerRelay cut around its `to` field, for a script that fills in
// each recipient: head + "<length>:" + to + tail == encode(relay).
struct PeerRelayParts {
  std::string head;
  std::string tail;
};
PeerRelayParts encode_around_to(const PeerRelay& m);

// A membership event kept in the inbox of a session whose node was gone
// (routing/cluster_scripts.h, kept_event): the room, then the event as published.
struct KeptEvent {
  RoomId room;
  std::string event;  // parse_event() reads it
};

// The recipient's node answers a PeerRelay when the sender asked for an ack or
// the relay was refused. `verdict`: routing::Admission::Verdict.
struct RelayReply {
  PeerId to;  // the original sender
  uint32_t shard = 0;
  std::string ack_id;
  uint8_t verdict = 0;
  std::string reason;
};

// A room-wide relay, published once on the room's channel; each node delivers
// it to its own members (but `except`, the sender).
struct RoomRelay {
  std::string origin_node;
  PeerId except;
  proto::MsgType type = proto::MsgType::message;
  bool from_viewer = false;
  std::string body;
};

// Moving a resumable session from the node holding it to the node where its
// client came back (see Cluster::take_session). Also written by the kHandoff
// script (routing/cluster_scripts.h), in the same form.
struct Handover {
  enum Kind : char {
    release = 'Q',   // to the holder: hand `peer`'s session over to `node`
    handed = 'H',    // to the holder (from the script): every relay routed to you before is in
    point = 'T',     // to the taker (from the script): relays for `peer` from here on are yours
    released = 'D',  // to the taker: the holder has let go and stored all it sent
  };
  Kind kind = release;
  PeerId peer;
  SessionId session;
  std::string node;  // release, handed, point: the taker; released: the holder
};

// First byte of an encoded message; membership events are JSON and start with '{'.
inline constexpr char kPeerRelay = 'P';
inline constexpr char kRelayReply = 'A';
inline constexpr char kRoomRelay = 'B';
// Entries of a session's inbox (sb:in) besides PeerRelays.
inline constexpr char kKeptEvent = 'E';
inline constexpr char kInboxOverflow = 'X';  // the inbox was full: what came after is lost

std::string encode(const PeerRelay& m);
std::string encode(const RelayReply& m);
std::string encode(const RoomRelay& m);
std::string encode(const Handover& m);
std::string encode(const KeptEvent& m);
// True when `tag` starts a Handover.
bool is_handover(char tag);
bool decode(std::string_view in, PeerRelay& out);
bool decode(std::string_view in, RelayReply& out);
bool decode(std::string_view in, RoomRelay& out);
bool decode(std::string_view in, Handover& out);
bool decode(std::string_view in, KeptEvent& out);

}  // namespace sb::routing::wire
