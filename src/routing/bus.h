// routing/bus.h — delivery of frames to peers and rooms.
//
// The one seam between "what a message means" (service/hub) and "where the
// recipient's connection lives". The first implementation (LocalBus) connects
// the event loops of one process; a cluster implementation connects nodes
// through Redis. Frames are shared, immutable, "open" bodies (see
// proto/encode.h): the receiving session stamps its own seq.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "proto/message.h"

namespace sb::routing {

using Body = std::shared_ptr<const std::string>;
using Clock = std::chrono::steady_clock;

// A relay message on its way: the shared frame, its type, and when the
// sender's loop received it (steady_clock is one clock for every thread, so
// the delivering loop can measure the relay latency).
struct Relay {
  Body body;
  proto::MsgType type = proto::MsgType::message;
  Clock::time_point received_at{};
  bool from_viewer = false;  // the sender is a viewer of a broadcast room (see rtc::in_contact)
};

// Whether an endpoint takes a relay frame: yes; it is not in the room (the
// sender gets peer-not-found); or the room's rules or its grants refuse it (the
// sender gets forbidden with `reason`, a static string naming the rule).
struct Admission {
  enum Verdict : uint8_t { ok, absent, forbidden };
  Verdict verdict = ok;
  std::string_view reason;
};

// What the bus reports to its owner (metrics). Called on the thread where it
// happens, so an implementation can keep per-shard figures without locks.
class BusObserver {
 public:
  virtual ~BusObserver() = default;
  // On the recipient's loop `shard`: a relay frame was handed to a recipient
  // `latency` after its receipt. Once per recipient. Measuring costs the bus
  // one steady_clock read per delivering loop and frame (20-50 ns).
  virtual void relay_delivered(uint32_t shard, proto::MsgType type, Clock::duration latency) = 0;
  // On the sender's loop `shard`: a unicast relay found no such peer in the room.
  virtual void peer_not_found(uint32_t shard) = 0;
  // On the sender's loop `shard`: the recipient refused a unicast relay (forbidden).
  virtual void relay_forbidden(uint32_t /*shard*/) {}
};

// A connected session as the bus sees it. Called only on the session's own loop.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual const PeerId& peer_id() const = 0;
  virtual bool in_room(const RoomId& room) const = 0;
  // Whether this endpoint takes `frame` relayed in `room`. The default: every
  // frame when in the room. O(1)-ish; runs on the endpoint's loop, once per
  // recipient (room-wide relays skip refused recipients without telling anyone).
  virtual Admission admit(const RoomId& room, const Relay& /*frame*/) const {
    return {in_room(room) ? Admission::ok : Admission::absent, {}};
  }
  // Queues `body` for sending (the session adds seq). Never blocks.
  virtual void deliver(const Body& body) = 0;
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Relays `body` to peer `to` if it is in `room` and admits it. Afterwards the
  // sender `from` gets, on its own loop, `ack` (when `ack_id` is non-empty) or,
  // when `to` is unknown or not in the room, `error peer-not-found`, or when `to`
  // refuses the frame (Endpoint::admit), `error forbidden` with the reason. Order: frames from one
  // sender to one recipient arrive in the order they were sent.
  virtual void to_peer(const PeerId& from, const PeerId& to, const RoomId& room, Relay frame,
                       std::string ack_id) = 0;

  // Relays `body` to every member of `room` but `except` that admits it, once
  // per loop that holds members, never once per peer across loops.
  virtual void to_room(const RoomId& room, const PeerId& except, Relay frame) = 0;

  // Delivers a membership event to `peer`, known to live on `home`, if it is
  // still in `room` when the event arrives.
  virtual void to_member(uint32_t home, const PeerId& peer, const RoomId& room, Body body) = 0;
};

}  // namespace sb::routing
