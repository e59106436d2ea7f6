// routing/cluster_admin.cpp — what an operator sees and does in cluster mode:
// the rooms as Redis holds them, whichever node is asked.
//
// Reads are one script each (a consistent picture). Changes go through the
// same events as any membership change: a kick is the leave script with
// reason "kicked" (its reason travels in the event as `why`), a close is one
// leave event per member with reason "room-closed". The node holding a
// member applies the event to its mirror like any other and, seeing its own
// member removed by someone else, tells the session (on_evicted). A message
// from the operator is a room relay on the room's channel, or a unicast relay
// to the node holding the peer (its inbox when that node is gone).
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "proto/encode.h"
#include "routing/cluster.h"
#include "routing/cluster_keys.h"
#include "routing/cluster_scripts.h"

namespace sb::routing {

namespace asio = boost::asio;
using namespace keys;

namespace {

using Reply = Cluster::AdminReply;

Reply status(Reply::Status st) {
  Reply r;
  r.status = st;
  return r;
}

// {meta (HGETALL), members (HLEN)} as kRoomInfo / kRoomList give them.
Reply::RoomSummary summary(const RoomId& room, const RedisReply& meta, const RedisReply& count) {
  Reply::RoomSummary s{header_from(meta), static_cast<size_t>(count.integer)};
  s.room.id = room;
  return s;
}

bool is_array(const RedisReply* r) {
  return is_ok(r) && r->type == RedisReply::Type::array;
}

}  // namespace

void Cluster::admin_rooms(AdminDone done) {
  asio::post(ioc_, [this, done = std::move(done)] {
    const bool sent = cmd_->command({"EVAL", scripts::kRoomList, "0"}, [done](const RedisReply* r) {
      if (!is_array(r)) return done(status(Reply::unavailable));
      Reply out = status(Reply::ok);
      for (const auto& e : r->elements)
        if (e.elements.size() == 3)
          out.rooms.push_back(summary(RoomId(e.elements[0].str), e.elements[1], e.elements[2]));
      std::sort(out.rooms.begin(), out.rooms.end(),
                [](const auto& a, const auto& b) { return a.room.id.str() < b.room.id.str(); });
      done(std::move(out));
    });
    if (!sent) done(status(Reply::unavailable));
  });
}

void Cluster::admin_room(RoomId room, std::optional<std::string> metadata, AdminDone done) {
  asio::post(ioc_, [this, room = std::move(room), metadata = std::move(metadata), done = std::move(done)] {
    const RoomKeys k(room);
    std::vector<std::string_view> args{"EVAL", scripts::kRoomInfo, "2", k.meta, k.members};
    if (metadata) {
      args.push_back(*metadata);
      args.push_back(k.channel);
    }
    const bool sent = cmd_->command(args, [room, done](const RedisReply* r) {
      if (!is_array(r)) return done(status(Reply::unavailable));
      if (r->elements.size() != 2) return done(status(Reply::no_room));
      Reply out = status(Reply::ok);
      out.rooms.push_back(summary(room, r->elements[0], r->elements[1]));
      done(std::move(out));
    });
    if (!sent) done(status(Reply::unavailable));
  });
}

void Cluster::admin_peers(RoomId room, AdminDone done) {
  asio::post(ioc_, [this, room = std::move(room), done = std::move(done)] {
    const RoomKeys k(room);
    const bool sent = cmd_->command({"EVAL", scripts::kSnapshot, "3", k.meta, k.members, k.vers},
                                    [done](const RedisReply* r) {
                                      if (!is_array(r) || r->elements.size() != 4)
                                        return done(status(Reply::unavailable));
                                      if (to_u64(r->elements[0].str) == 0 && r->elements[1].elements.empty())
                                        return done(status(Reply::no_room));
                                      Reply out = status(Reply::ok);
                                      out.members = members_in_join_order(r->elements[2], r->elements[3]);
                                      done(std::move(out));
                                    });
    if (!sent) done(status(Reply::unavailable));
  });
}

void Cluster::admin_create(RoomId room, rtc::RoomConfig cfg, int64_t now, AdminDone done) {
  asio::post(ioc_, [this, room = std::move(room), cfg = std::move(cfg), now, done = std::move(done)] {
    const RoomKeys k(room);
    const bool sent = cmd_->command({"EVAL", scripts::kCreateRoom, "2", k.meta, kRooms, room.str(), cfg.kind,
                                     std::to_string(cfg.max_peers), cfg.metadata, std::to_string(now)},
                                    [room, done](const RedisReply* r) {
                                      if (!is_array(r) || r->elements.empty())
                                        return done(status(Reply::unavailable));
                                      if (r->elements[0].integer != 1 || r->elements.size() != 2)
                                        return done(status(Reply::exists));
                                      Reply out = status(Reply::ok);
                                      RedisReply none;
                                      none.integer = 0;
                                      out.rooms.push_back(summary(room, r->elements[1], none));
                                      done(std::move(out));
                                    });
    if (!sent) done(status(Reply::unavailable));
  });
}

void Cluster::admin_kick(RoomId room, PeerId peer, std::string reason, AdminDone done) {
  asio::post(ioc_, [this, room = std::move(room), peer = std::move(peer), reason = std::move(reason),
                    done = std::move(done)]() mutable {
    const RoomKeys k(room);
    // The member names the node holding it, whose member set the leave script updates.
    const bool sent = cmd_->command(
        {"EVAL", scripts::kRoomInfo, "2", k.meta, k.members},
        [this, room, peer, reason = std::move(reason), done, k](const RedisReply* info) mutable {
          if (!is_array(info)) return done(status(Reply::unavailable));
          if (info->elements.size() != 2) return done(status(Reply::no_room));
          cmd_->command({"HGET", k.members, peer.str()},
                        [this, room, peer, reason = std::move(reason), done](const RedisReply* mj) mutable {
                          if (!is_ok(mj)) return done(status(Reply::unavailable));
                          rtc::Member m;
                          if (mj->type != RedisReply::Type::string || !wire::parse_member(mj->str, m))
                            return done(status(Reply::no_peer));
                          const bool left = leave_script(
                              room, peer.str(), "kicked", m.node,
                              [room, done](const RedisReply* r) {
                                if (!is_array(r)) return done(status(Reply::unavailable));
                                if (r->elements.size() != 5 || r->elements[0].integer != 1)
                                  return done(status(Reply::no_peer));
                                Reply out = status(Reply::ok);
                                out.finished = r->elements[2].str == "1";
                                RedisReply none;
                                out.rooms.push_back(summary(room, r->elements[3], none));
                                rtc::Member gone;
                                wire::parse_member(r->elements[4].str, gone);
                                out.members.push_back(std::move(gone));
                                done(std::move(out));
                              },
                              reason.empty() ? std::string_view("kicked") : std::string_view(reason));
                          if (!left) done(status(Reply::unavailable));
                        });
        });
    if (!sent) done(status(Reply::unavailable));
  });
}

void Cluster::admin_close(RoomId room, AdminDone done) {
  asio::post(ioc_, [this, room = std::move(room), done = std::move(done)] {
    const RoomKeys k(room);
    commands_.fetch_add(1, std::memory_order_relaxed);
    auto closed = [room, done](const RedisReply* r) {
      if (!is_array(r)) return done(status(Reply::unavailable));
      if (r->elements.size() != 2) return done(status(Reply::no_room));
      Reply out = status(Reply::ok);
      RedisReply none;
      out.rooms.push_back(summary(room, r->elements[0], none));
      for (const auto& e : r->elements[1].elements) {
        rtc::Member m;
        if (wire::parse_member(e.str, m)) out.members.push_back(std::move(m));
      }
      out.finished = true;
      done(std::move(out));
    };
    const bool sent = cmd_->command({"EVAL", scripts::kCloseRoom, "4", k.meta, k.members, k.vers, kRooms,
                                     room.str(), k.channel, inbox_limit()},
                                    std::move(closed));
    if (!sent) done(status(Reply::unavailable));
  });
}

void Cluster::admin_send(RoomId room, std::optional<PeerId> to, Body frame, AdminDone done) {
  asio::post(ioc_, [this, room = std::move(room), to = std::move(to), frame = std::move(frame),
                    done = std::move(done)] {
    const RoomKeys k(room);
    const bool sent = cmd_->command(
        {"EVAL", scripts::kRoomInfo, "2", k.meta, k.members},
        [this, room, to, frame, done, k](const RedisReply* info) {
          if (!is_array(info)) return done(status(Reply::unavailable));
          if (info->elements.size() != 2) return done(status(Reply::no_room));
          if (!to) {  // every node holding members delivers it to them: "@node" is no node, so this one too
            wire::RoomRelay b{"@" + options_.node_id, PeerId(), proto::MsgType::message, false, *frame};
            if (!room_send(room, b, {})) return done(status(Reply::unavailable));
            Reply out = status(Reply::ok);
            out.recipients = static_cast<size_t>(info->elements[1].integer);
            return done(std::move(out));
          }
          cmd_->command({"HGET", k.members, to->str()}, [this, room, to, frame, done](const RedisReply* mj) {
            if (!is_ok(mj)) return done(status(Reply::unavailable));
            rtc::Member m;
            if (mj->type != RedisReply::Type::string || !wire::parse_member(mj->str, m))
              return done(status(Reply::no_peer));
            wire::PeerRelay p{
                options_.node_id, 0, PeerId("server"), *to, room, proto::MsgType::message, false, {}, *frame};
            commands_.fetch_add(1, std::memory_order_relaxed);
            // With resume, where the session is now (or its inbox); else the node its membership names.
            const bool handed = options_.log_messages > 0
                                    ? cmd_->command({"EVAL", scripts::kDeliver, "1", peer_node_key(*to),
                                                     wire::encode(p), to->str(), inbox_limit()})
                                    : publish(node_channel(m.node), wire::encode(p));
            if (!handed) return done(status(Reply::unavailable));
            Reply out = status(Reply::ok);
            out.recipients = 1;
            done(std::move(out));
          });
        });
    if (!sent) done(status(Reply::unavailable));
  });
}

// --- the node holding the members ----------------------------------------------------

void Cluster::evict_own(const RoomId& room, const rtc::Member& m, const wire::MemberEvent& ev) {
  const bool closed = ev.reason == "room-closed";
  if (!closed && ev.reason != "kicked") return;
  auto own = own_.find(room);
  if (own == own_.end() || !own->second.count(m.peer)) return;  // it left on its own meanwhile
  forget_own(room, m.peer);
  if (on_evicted_)
    on_evicted_(m.home, m.peer, room,
                make_body(closed ? proto::room_closed(room)
                                 : proto::kicked(room, ev.why.empty() ? "kicked" : ev.why)));
  forget_if_unused(room);
}

void Cluster::count_rooms() {
  if (!cmd_->up()) return;
  cmd_->command({"SCARD", kRooms}, [this](const RedisReply* r) {
    if (is_ok(r)) rooms_ = static_cast<size_t>(std::max<int64_t>(r->integer, 0));
  });
  cmd_->command({"GET", kPeerCount}, [this](const RedisReply* r) {
    if (is_ok(r)) peers_ = r->type == RedisReply::Type::string ? to_u64(r->str) : 0;
  });
}

}  // namespace sb::routing
