#include "service/cluster_room_admin.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <future>

#include "proto/encode.h"

namespace sb::service {

namespace {

RoomInfo info(const routing::Cluster::AdminReply::RoomSummary& s) {
  const rtc::Room& r = s.room;
  return RoomInfo{r.id.string(), r.kind, r.metadata, s.peers, r.max_peers, r.created_at, r.persistent};
}

}  // namespace

ClusterRoomAdmin::Reply ClusterRoomAdmin::call(
    const std::function<void(routing::Cluster::AdminDone)>& start) {
  auto promise = std::make_shared<std::promise<Reply>>();
  std::future<Reply> reply = promise->get_future();
  start([promise](Reply r) { promise->set_value(std::move(r)); });
  if (reply.wait_for(kWait) != std::future_status::ready)
    throw RoomAdminUnavailable("the cluster's shared state did not answer in time");
  Reply r = reply.get();
  if (r.status == Reply::unavailable)
    throw RoomAdminUnavailable("the cluster's shared state cannot be reached");
  return r;
}

std::vector<RoomInfo> ClusterRoomAdmin::rooms() {
  Reply r = call([&](auto done) { cluster_.admin_rooms(std::move(done)); });
  std::vector<RoomInfo> out;
  out.reserve(r.rooms.size());
  for (const auto& s : r.rooms) out.push_back(info(s));
  return out;
}

std::optional<RoomInfo> ClusterRoomAdmin::room(const RoomId& room) {
  Reply r = call([&](auto done) { cluster_.admin_room(room, std::nullopt, std::move(done)); });
  if (r.status != Reply::ok || r.rooms.empty()) return std::nullopt;
  return info(r.rooms.front());
}

std::optional<std::vector<PeerInfo>> ClusterRoomAdmin::peers(const RoomId& room) {
  Reply r = call([&](auto done) { cluster_.admin_peers(room, std::move(done)); });
  if (r.status != Reply::ok) return std::nullopt;
  std::vector<PeerInfo> out;
  out.reserve(r.members.size());
  for (const auto& m : r.members)
    out.push_back({m.peer.string(), m.user.string(), m.name.string(), m.metadata.string(), m.joined_at});
  return out;
}

AdminStatus ClusterRoomAdmin::create_room(const RoomId& room, rtc::RoomConfig cfg, RoomInfo& out) {
  if (cfg.kind.empty()) cfg.kind = std::string(rtc::kMeeting);
  if (cfg.max_peers == 0) cfg.max_peers = limits_.cap(cfg.kind);
  const auto now = static_cast<int64_t>(std::time(nullptr));
  Reply r = call([&](auto done) { cluster_.admin_create(room, cfg, now, std::move(done)); });
  if (r.status == Reply::exists || r.rooms.empty()) return AdminStatus::exists;
  out = info(r.rooms.front());
  const rtc::Room& header = r.rooms.front().room;
  publish_room_event(events_, RoomEventType::room_started, header, nullptr, {});
  return AdminStatus::ok;
}

AdminStatus ClusterRoomAdmin::set_room_metadata(const RoomId& room, std::string metadata, RoomInfo& out) {
  Reply r = call([&](auto done) { cluster_.admin_room(room, std::move(metadata), std::move(done)); });
  if (r.status != Reply::ok || r.rooms.empty()) return AdminStatus::no_room;
  out = info(r.rooms.front());
  return AdminStatus::ok;
}

AdminStatus ClusterRoomAdmin::close_room(const RoomId& room) {
  Reply r = call([&](auto done) { cluster_.admin_close(room, std::move(done)); });
  if (r.status != Reply::ok || r.rooms.empty()) return AdminStatus::no_room;
  const rtc::Room& header = r.rooms.front().room;
  for (const auto& m : r.members)
    publish_room_event(events_, RoomEventType::peer_left, header, &m, "room-closed");
  publish_room_event(events_, RoomEventType::room_finished, header, nullptr, "closed");
  spdlog::info("admin: room {} closed ({} peers)", room.str(), r.members.size());
  return AdminStatus::ok;
}

AdminStatus ClusterRoomAdmin::kick(const RoomId& room, const PeerId& peer, std::string_view reason) {
  Reply r = call([&](auto done) { cluster_.admin_kick(room, peer, std::string(reason), std::move(done)); });
  if (r.status == Reply::no_room) return AdminStatus::no_room;
  if (r.status != Reply::ok || r.rooms.empty() || r.members.empty()) return AdminStatus::no_peer;
  const rtc::Room& header = r.rooms.front().room;
  publish_room_event(events_, RoomEventType::peer_left, header, &r.members.front(), "kicked");
  if (r.finished) publish_room_event(events_, RoomEventType::room_finished, header, nullptr, "empty");
  spdlog::info("admin: peer {} kicked from room {}", peer.str(), room.str());
  return AdminStatus::ok;
}

AdminStatus ClusterRoomAdmin::send(const RoomId& room, const std::optional<PeerId>& to, std::string_view data,
                                   size_t& recipients) {
  auto frame = std::make_shared<const std::string>(
      proto::relay(proto::MsgType::message, room, PeerId("server"), data));
  Reply r = call([&](auto done) { cluster_.admin_send(room, to, frame, std::move(done)); });
  recipients = r.recipients;
  if (r.status == Reply::no_room) return AdminStatus::no_room;
  if (r.status == Reply::no_peer) return AdminStatus::no_peer;
  return AdminStatus::ok;
}

}  // namespace sb::service
