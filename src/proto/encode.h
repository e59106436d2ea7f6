// proto/encode.h — building server-to-client frames.
//
// Every server message carries `seq`, which belongs to the receiving session,
// so a frame is built in two parts: an "open" body shared by every recipient
// (`{"type":...,...` without the closing brace) and a per-recipient tail
// (`,"seq":N}`) written by the session. A room-wide relay is encoded once and
// the same body is sent to all recipients without copying.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "proto/message.h"
#include "rtc/room_directory.h"

namespace sb::proto {

// Appends `,"seq":N}` to a body, making it a complete frame.
void close_frame(std::string& body, uint64_t seq);

// Writes the tail `,"seq":N}` into buf (at least 32 bytes); returns its length.
size_t write_tail(char* buf, uint64_t seq);

struct Welcome {
  std::string_view id;  // raw request id, may be empty
  SessionId session;
  PeerId peer;
  UserId user;
  std::string_view name;
  unsigned heartbeat_s = 20;
  std::string_view ice_servers_json = "[]";
};

// `resume_token`: the secret that resumes the session (empty: resume is off, the
// field is left out); `resumed`: the session continues an earlier connection's.
std::string welcome(const Welcome& w, std::string_view resume_token = {}, bool resumed = false);
// `joined`: the room, its `kind` and the peers this connection sees. In a
// broadcast room (kind "broadcast") the frame also says whether this
// connection is a publisher (`publisher`, from `self_publisher`) and each peer
// carries `publisher`; meeting-room frames carry no `publisher` field.
std::string joined(std::string_view id, const RoomId& room, const std::vector<const rtc::Member*>& others,
                   std::string_view kind = "meeting", bool self_publisher = false);
// `broadcast`: add the member's `publisher` flag (broadcast rooms only).
std::string peer_joined(const RoomId& room, const rtc::Member& m, bool broadcast = false);
std::string peer_updated(const RoomId& room, const rtc::Member& m, bool broadcast = false);
std::string peer_left(const RoomId& room, const PeerId& peer, std::string_view reason);
std::string ack(std::string_view id);
std::string pong(std::string_view id);
std::string error(std::string_view id, ErrorCode code, std::string_view message);
// `reconnect`: the client should connect again (to any node) and resume.
std::string going_away(std::string_view reason, bool reconnect = false);
// An operator closed `room`: the connection is no longer in it.
std::string room_closed(const RoomId& room);
// An operator removed this connection from `room`.
std::string kicked(const RoomId& room, std::string_view reason);

// `{"type":T,"room":R,"from":F,"data":<data verbatim>` — `data` is raw JSON.
std::string relay(MsgType type, const RoomId& room, const PeerId& from, std::string_view data);

}  // namespace sb::proto
