#include "service/room_events.h"

#include <ctime>

namespace sb::service {

std::string_view to_string(RoomEventType t) {
  switch (t) {
    case RoomEventType::room_started: return "room_started";
    case RoomEventType::room_finished: return "room_finished";
    case RoomEventType::peer_joined: return "peer_joined";
    case RoomEventType::peer_left: return "peer_left";
  }
  return "?";
}

void publish_room_event(RoomEventSink* sink, RoomEventType type, const rtc::Room& room,
                        const rtc::Member* peer, std::string_view reason) {
  if (!sink) return;
  RoomEvent e;
  e.type = type;
  e.at = static_cast<int64_t>(std::time(nullptr));
  e.room = room.id;
  e.kind = room.kind;
  e.metadata = room.metadata;
  e.room_created_at = room.created_at;
  if (peer) e.peer = *peer;
  e.reason = std::string(reason);
  sink->publish(std::move(e));
}

}  // namespace sb::service
