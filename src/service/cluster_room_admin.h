// service/cluster_room_admin.h — the admin API's rooms in cluster mode.
//
// RoomAdmin over routing::Cluster's operator calls: every node answers for the
// whole cluster, and a kick or close reaches members held by any node. Each
// call waits for Redis (at most kWait; then RoomAdminUnavailable, a 503), so
// it must not run on an event loop: the server serves the admin API from its
// own thread in cluster mode (HttpContext::admin_async). The webhooks of a
// kick or close are sent by the node that did it, as on one node.
#pragma once

#include <chrono>

#include "routing/cluster.h"
#include "service/room_admin.h"
#include "service/room_events.h"

namespace sb::service {

class ClusterRoomAdmin final : public RoomAdmin {
 public:
  // `limits` give a created room its default cap; `events` may be null.
  ClusterRoomAdmin(routing::Cluster& cluster, rtc::RoomLimits limits, RoomEventSink* events)
      : cluster_(cluster), limits_(limits), events_(events) {}

  std::vector<RoomInfo> rooms() override;
  std::optional<RoomInfo> room(const RoomId& room) override;
  std::optional<std::vector<PeerInfo>> peers(const RoomId& room) override;
  AdminStatus create_room(const RoomId& room, rtc::RoomConfig cfg, RoomInfo& out) override;
  AdminStatus set_room_metadata(const RoomId& room, std::string metadata, RoomInfo& out) override;
  AdminStatus close_room(const RoomId& room) override;
  AdminStatus kick(const RoomId& room, const PeerId& peer, std::string_view reason) override;
  AdminStatus send(const RoomId& room, const std::optional<PeerId>& to, std::string_view data,
                   size_t& recipients) override;

  static constexpr std::chrono::seconds kWait{5};

 private:
  using Reply = routing::Cluster::AdminReply;
  // Starts one operator call and waits for its reply; throws RoomAdminUnavailable
  // when Redis cannot be reached or does not answer within kWait.
  Reply call(const std::function<void(routing::Cluster::AdminDone)>& start);

  routing::Cluster& cluster_;
  rtc::RoomLimits limits_;
  RoomEventSink* events_;
};

}  // namespace sb::service
