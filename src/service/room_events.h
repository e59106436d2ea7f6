// service/room_events.h — room lifecycle events for observers (webhooks).
//
// The Hub reports each event while it holds the directory lock, so events
// come out in the order the changes happened. A sink must therefore be quick
// and never block: copy the event and hand it to another thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rtc/room_directory.h"

namespace sb::service {

enum class RoomEventType { room_started, room_finished, peer_joined, peer_left };

// Wire names: "room_started", "room_finished", "peer_joined", "peer_left".
std::string_view to_string(RoomEventType t);

struct RoomEvent {
  RoomEventType type = RoomEventType::room_started;
  int64_t at = 0;  // Unix seconds
  // The room as it was at the event.
  RoomId room;
  std::string kind;
  std::string metadata;
  int64_t room_created_at = 0;
  std::optional<rtc::Member> peer;  // peer_joined, peer_left
  std::string reason;  // peer_left: left|disconnected|kicked|room-closed; room_finished: empty|closed
};

class RoomEventSink {
 public:
  virtual ~RoomEventSink() = default;
  virtual void publish(RoomEvent event) = 0;
};

// Publishes the event `type` about `room` (its members are not read) and
// `peer`, stamped now, to `sink` (null: nothing).
void publish_room_event(RoomEventSink* sink, RoomEventType type, const rtc::Room& room,
                        const rtc::Member* peer, std::string_view reason);

}  // namespace sb::service
