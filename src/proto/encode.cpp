#include "proto/encode.h"

#include <charconv>
#include <cstring>

#include "core/json_text.h"

namespace sb::proto {

namespace {

// `{"type":"<type>"` and the request's id, with room for `more` bytes after them.
std::string open(std::string_view type, std::string_view id, size_t more = 96) {
  std::string s;
  s.reserve(10 + type.size() + (id.empty() ? 0 : 6 + id.size()) + more);
  s.append("{\"type\":\"").append(type).append("\"");
  if (!id.empty()) s.append(",\"id\":").append(id);  // id is raw, validated JSON
  return s;
}

// A frame may stay in the session's replay buffer for as long as the session
// lives (an idle member keeps its `joined`), so it does not keep the slack of
// its string's growth: one reallocation when more than 16 bytes are spare.
std::string fit(std::string s) {
  if (s.capacity() - s.size() > 16) s.shrink_to_fit();
  return s;
}

void field(std::string& s, std::string_view key, std::string_view value) {
  s.append(",\"").append(key).append("\":");
  json_append_string(s, value);
}

// Writes `"peer":..,"user":..,"name":..,"metadata":{..}` (no leading comma),
// then `,"publisher":BOOL` when `broadcast`.
void member_fields(std::string& s, const rtc::Member& m, bool broadcast) {
  s.append("\"peer\":");
  json_append_string(s, m.peer.str());
  field(s, "user", m.user.str());
  if (!m.name.empty()) field(s, "name", m.name);
  s.append(",\"metadata\":")
      .append(m.metadata.empty() ? std::string_view("{}") : std::string_view(m.metadata));
  if (broadcast) s.append(m.publisher ? ",\"publisher\":true" : ",\"publisher\":false");
}

}  // namespace

size_t write_tail(char* buf, uint64_t seq) {
  static constexpr std::string_view kSeq = ",\"seq\":";
  std::memcpy(buf, kSeq.data(), kSeq.size());
  auto [end, ec] = std::to_chars(buf + kSeq.size(), buf + 31, seq);
  (void)ec;
  *end++ = '}';
  return static_cast<size_t>(end - buf);
}

void close_frame(std::string& body, uint64_t seq) {
  char tail[32];
  body.append(tail, write_tail(tail, seq));
}

std::string welcome(const Welcome& w, std::string_view resume_token, bool resumed) {
  std::string s = open("welcome", w.id);
  field(s, "session", w.session.str());
  field(s, "peer", w.peer.str());
  field(s, "user", w.user.str());
  if (!w.name.empty()) field(s, "name", w.name);
  s.append(",\"heartbeat_s\":");
  json_append_uint(s, w.heartbeat_s);
  s.append(",\"ice_servers\":").append(w.ice_servers_json);
  if (!resume_token.empty()) field(s, "resume_token", resume_token);
  s.append(resumed ? ",\"resumed\":true" : ",\"resumed\":false");
  return s;
}

std::string joined(std::string_view id, const RoomId& room, const std::vector<const rtc::Member*>& others,
                   std::string_view kind, bool self_publisher) {
  const bool broadcast = kind == rtc::kBroadcast;
  std::string s = open("joined", id);
  field(s, "room", room.str());
  field(s, "kind", kind);
  if (broadcast) s.append(self_publisher ? ",\"publisher\":true" : ",\"publisher\":false");
  s.append(",\"peers\":[");
  bool first = true;
  for (const rtc::Member* m : others) {
    s.append(first ? "{" : ",{");
    first = false;
    member_fields(s, *m, broadcast);
    s.append("}");
  }
  s.append("]");
  return fit(std::move(s));
}

std::string peer_joined(const RoomId& room, const rtc::Member& m, bool broadcast) {
  std::string s = open("peer-joined", {});
  field(s, "room", room.str());
  s.push_back(',');
  member_fields(s, m, broadcast);
  return fit(std::move(s));
}

std::string peer_updated(const RoomId& room, const rtc::Member& m, bool broadcast) {
  std::string s = open("peer-updated", {});
  field(s, "room", room.str());
  s.push_back(',');
  member_fields(s, m, broadcast);
  return fit(std::move(s));
}

std::string peer_left(const RoomId& room, const PeerId& peer, std::string_view reason) {
  std::string s = open("peer-left", {});
  field(s, "room", room.str());
  field(s, "peer", peer.str());
  field(s, "reason", reason);
  return fit(std::move(s));
}

// An ack per relayed message: sized exactly, no reallocation.
std::string ack(std::string_view id) {
  return open("ack", id, 0);
}
std::string pong(std::string_view id) {
  return open("pong", id, 0);
}

std::string error(std::string_view id, ErrorCode code, std::string_view message) {
  std::string s = open("error", id);
  field(s, "code", to_string(code));
  field(s, "message", message);
  return fit(std::move(s));
}

std::string going_away(std::string_view reason, bool reconnect) {
  std::string s = open("going-away", {});
  field(s, "reason", reason);
  if (reconnect) s.append(",\"reconnect\":true");
  return fit(std::move(s));
}

std::string room_closed(const RoomId& room) {
  std::string s = open("room-closed", {});
  field(s, "room", room.str());
  return fit(std::move(s));
}

std::string kicked(const RoomId& room, std::string_view reason) {
  std::string s = open("kicked", {});
  field(s, "room", room.str());
  field(s, "reason", reason);
  return fit(std::move(s));
}

std::string relay(MsgType type, const RoomId& room, const PeerId& from, std::string_view data) {
  std::string s;
  s.reserve(48 + room.str().size() + from.str().size() + data.size());
  s.append("{\"type\":\"").append(to_string(type)).append("\"");
  field(s, "room", room.str());
  field(s, "from", from.str());
  s.append(",\"data\":").append(data);
  return s;
}

}  // namespace sb::proto
