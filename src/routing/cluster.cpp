#include "routing/cluster.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <climits>

#include "core/json_text.h"
#include "proto/encode.h"
#include "routing/cluster_keys.h"
#include "routing/cluster_scripts.h"

namespace sb::routing {

namespace asio = boost::asio;

using namespace keys;

Cluster::Cluster(ClusterOptions options, LocalBus& bus)
    : options_(std::move(options)),
      bus_(bus),
      work_(ioc_.get_executor()),
      tick_(ioc_),
      resync_timer_(ioc_),
      node_channel_(node_channel(options_.node_id)) {
  // Named so that CLIENT LIST tells which node and which role each connection has.
  RedisOptions named = options_.redis_options;
  named.name = "sb-" + options_.node_id + "-cmd";
  cmd_ = RedisConnection::create(ioc_, options_.redis, named);
  named.name = "sb-" + options_.node_id + "-sub";
  sub_ = RedisConnection::create(ioc_, options_.redis, named);
  // A claim on a lost node outlives the grace period and the clean-up after it.
  options_.registry.claim_ttl = options_.lost_grace + 2 * options_.registry.ttl;
  registry_ = NodeRegistry::create(ioc_, cmd_, options_.node_id, options_.registry);
}

Cluster::~Cluster() {
  stop();
}

void Cluster::start() {
  cmd_->on_state([this](bool up) {
    if (!up) was_down_ = true;
    if (up && was_down_ && sub_->up()) {
      was_down_ = false;
      restore();
    }
    update_ready();
  });
  sub_->on_state([this](bool up) {
    node_subscribed_ = false;
    for (auto& [room, m] : mirrors_) {
      m.subscribed = false;
      m.subscribing = false;
    }
    if (!up) {
      was_down_ = true;
      // Joins waiting for a subscription will not get it on this connection.
      for (auto& [room, m] : mirrors_) {
        auto waiting = std::move(m.on_subscribed);
        m.on_subscribed.clear();
        for (auto& f : waiting) f(false);
        auto mirrored = std::move(m.on_ready);
        m.on_ready.clear();
        for (auto& f : mirrored) f(false);
      }
      update_ready();
      return;
    }
    std::vector<std::string> channels{node_channel_};
    for (auto& [room, m] : mirrors_) {
      channels.push_back(RoomKeys(room).channel);
      m.subscribing = true;
    }
    sub_->subscribe(channels);
    if (was_down_ && cmd_->up()) {
      was_down_ = false;
      restore();
    }
    update_ready();
  });
  sub_->on_subscribed([this](std::string_view channel, std::string_view) {
    if (channel == node_channel_) {
      node_subscribed_ = true;
      take_back_inboxes();  // from here on nothing more is kept for this node's sessions
      return update_ready();
    }
    if (!channel.starts_with(kRoomChannelPrefix)) return;
    auto it = mirrors_.find(RoomId(channel.substr(kRoomChannelPrefix.size())));
    if (it == mirrors_.end()) return;
    it->second.subscribed = true;
    it->second.subscribing = false;
    auto waiting = std::move(it->second.on_subscribed);
    it->second.on_subscribed.clear();
    for (auto& f : waiting) f(true);
  });
  sub_->on_message(
      [this](std::string_view channel, std::string_view payload) { on_message(channel, payload); });
  registry_->on_lost([this](const std::string& node) { on_lost(node); });

  thread_ = std::thread([this] {
    LocalBus::set_current_shard(UINT32_MAX);  // not a shard: run_on() always posts from here
    ioc_.run();
  });
  asio::post(ioc_, [this] {
    cmd_->start();
    sub_->start();
    registry_->start();
    tick();
  });
  spdlog::info("cluster: node {} using Redis at {}", options_.node_id, options_.redis.describe());
}

void Cluster::stop() {
  if (!thread_.joinable()) return;
  asio::post(ioc_, [this] {
    // After what is queued (the leaves of the sessions the shutdown closed),
    // this node's remaining members go (parked sessions), then it leaves the
    // registry. Bounded: an unreachable Redis does not hold the exit up.
    auto finish = [this] {
      if (stopped_) return;
      stopped_ = true;
      registry_->stop(/*leave=*/true);
      tick_.cancel();
      resync_timer_.cancel();
      for (auto& t : lost_timers_) t->cancel();
      auto close = [this] {
        cmd_->stop();
        sub_->stop();
        work_.reset();
      };
      if (!cmd_->up() || !cmd_->command({"PING"}, [close](const RedisReply*) { close(); })) close();
    };
    enqueue([this, finish](std::function<void()>) {
      // Resumable sessions stay: their clients may resume them on another
      // node; what is not resumed there is reaped as node-lost.
      for (const auto& [room, members] : own_)
        for (const auto& [peer, m] : members)
          if (!own_sessions_.count(peer)) leave_script(room, peer.str(), "disconnected", options_.node_id);
      own_.clear();
      quiesce(finish);
    });
    resync_timer_.expires_after(std::chrono::seconds(3));
    resync_timer_.async_wait([finish](boost::system::error_code ec) {
      if (!ec) finish();
    });
  });
  thread_.join();
  ready_ = false;
}

// Parked sessions may still be sent relays through this node's channel (their
// holder in Redis is this node until another one takes them). Once Redis has
// confirmed the UNSUBSCRIBE, every relay published here before has reached
// on_message and been posted to a loop, and later ones are kept in the
// session's inbox (kDeliver: nobody listens). A round trip to each loop then
// makes sure those relays were stamped, their log entries and answers issued
// on cmd_, before the caller sends its final PING and closes. Needs the loops
// running (Server stops them after this); bounded by stop()'s timer.
void Cluster::quiesce(std::function<void()> done) {
  if (own_sessions_.empty() || !sub_->up()) return done();
  std::vector<std::string> channels{node_channel_};
  for (const auto& [room, m] : mirrors_)
    if (m.subscribed || m.subscribing) channels.push_back(RoomKeys(room).channel);
  sub_->on_unsubscribed([this, done](std::string_view channel, std::string_view) {
    if (channel != node_channel_) return;
    auto left = std::make_shared<uint32_t>(bus_.shard_count());
    for (uint32_t s = 0; s < bus_.shard_count(); ++s)
      bus_.post(s, [this, left, done] {
        asio::post(ioc_, [left, done] {
          if (--*left == 0) done();
        });
      });
  });
  if (!sub_->unsubscribe(channels)) done();
}

void Cluster::tick() {
  if (stopped_) return;
  update_ready();
  expire_awaited();
  if (ticks_++ % 4 == 0) count_rooms();
  nodes_ = registry_->nodes().size();
  if (cmd_->up()) {
    const auto sent = std::chrono::steady_clock::now();
    cmd_->command({"PING"}, [this, sent](const RedisReply* r) {
      if (!r) return;
      rtt_us_ = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent)
              .count());
    });
  }
  tick_.expires_after(std::chrono::milliseconds(250));
  tick_.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

void Cluster::update_ready() {
  ready_ = !stopped_ && !restoring_ && cmd_->up() && sub_->up() && node_subscribed_ && registry_->ready();
}

bool Cluster::publish(const std::string& channel, std::string payload,
                      std::function<void(const RedisReply*)> cb) {
  commands_.fetch_add(1, std::memory_order_relaxed);
  return cmd_->command({"PUBLISH", channel, payload}, std::move(cb));
}

size_t Cluster::local_members(const RoomId& room) const {
  auto it = own_.find(room);
  return it == own_.end() ? 0 : it->second.size();
}

// --- membership operations, one at a time ----------------------------------------

void Cluster::enqueue(Op op) {
  ops_.push_back(std::move(op));
  if (!op_running_) run_next();
}

void Cluster::run_next() {
  if (ops_.empty()) {
    op_running_ = false;
    return;
  }
  op_running_ = true;
  Op op = std::move(ops_.front());
  ops_.pop_front();
  op([this] { asio::post(ioc_, [this] { run_next(); }); });
}

void Cluster::join(JoinRequest req, JoinDone done) {
  asio::post(ioc_, [this, req = std::move(req), done = std::move(done)]() mutable {
    enqueue([this, req = std::move(req), done = std::move(done)](std::function<void()> next) mutable {
      do_join(std::move(req), std::move(done), std::move(next));
    });
  });
}

void Cluster::do_join(JoinRequest req, JoinDone done, std::function<void()> next) {
  const RoomId room = req.room;
  auto fail = [this, room](JoinDone& d, JoinResult::Status st, size_t max_peers = 0) {
    JoinResult r;
    r.status = st;
    r.max_peers = max_peers;
    d(std::move(r));
    forget_if_unused(room);
  };
  if (!cmd_->up() || !sub_->up()) {
    fail(done, JoinResult::unavailable);
    return next();
  }
  req.member.node = options_.node_id;
  auto run = [this, req = std::move(req), done = std::move(done), next = std::move(next),
              fail](bool subscribed) mutable {
    if (!subscribed || !cmd_->up()) {
      fail(done, JoinResult::unavailable);
      return next();
    }
    const RoomKeys k(req.room);
    const std::string mj = wire::member_json(req.member);
    const std::string max_peers = std::to_string(req.created.max_peers);
    const std::string now = std::to_string(req.member.joined_at);
    commands_.fetch_add(1, std::memory_order_relaxed);
    const bool sent = cmd_->command(
        {"EVAL", scripts::kJoin, "6", k.meta, k.members, k.vers, kRooms, node_members(options_.node_id),
         peer_rooms(req.member.peer.str()), req.room.str(), req.member.peer.str(), mj, req.created.kind,
         max_peers, req.created.metadata, now, k.channel, inbox_limit()},
        [this, req, done, next, fail](const RedisReply* r) mutable {
          if (!is_ok(r) || r->type != RedisReply::Type::array || r->elements.empty()) {
            if (r) spdlog::warn("cluster: join script failed: {}", r->str);
            fail(done, JoinResult::unavailable);
            return next();
          }
          const std::string& st = r->elements[0].str;
          if (st == "already_joined") {
            fail(done, JoinResult::already_joined);
            return next();
          }
          if (st == "room_full") {
            fail(done, JoinResult::room_full, r->elements.size() > 1 ? to_u64(r->elements[1].str) : 0);
            return next();
          }
          if (st != "ok" || r->elements.size() < 4) {
            fail(done, JoinResult::unavailable);
            return next();
          }
          Mirror::Waiter w;
          w.ver = to_u64(r->elements[1].str);
          w.peer = req.member.peer;
          w.done = std::move(done);
          w.result.status = JoinResult::ok;
          w.result.created = r->elements[2].str == "1";
          w.result.room = header_from(r->elements[3]);
          w.result.room.id = req.room;
          w.result.max_peers = w.result.room.max_peers;
          w.result.self = req.member;
          own_[req.room][req.member.peer] = req.member;
          Mirror& mirror = mirrors_[req.room];
          mirror.waiting.push_back(std::move(w));
          if (!mirror.ready && !mirror.reading) read_room(req.room);
          complete_waiters(req.room);
          next();
        });
    if (!sent) {
      fail(done, JoinResult::unavailable);
      next();
    }
  };
  when_subscribed(room, std::move(run));
}

void Cluster::when_subscribed(const RoomId& room, std::function<void(bool)> fn) {
  Mirror& m = mirrors_[room];
  if (m.subscribed) return fn(true);
  m.on_subscribed.push_back(std::move(fn));
  if (!m.subscribing) {
    m.subscribing = true;
    if (!sub_->subscribe({RoomKeys(room).channel})) {
      m.subscribing = false;
      auto waiting = std::move(m.on_subscribed);
      m.on_subscribed.clear();
      for (auto& f : waiting) f(false);
    }
  }
}

void Cluster::read_room(const RoomId& room) {
  mirrors_[room].reading = true;
  const RoomKeys k(room);
  commands_.fetch_add(1, std::memory_order_relaxed);
  const bool sent = cmd_->command(
      {"EVAL", scripts::kSnapshot, "3", k.meta, k.members, k.vers}, [this, room](const RedisReply* r) {
        auto it = mirrors_.find(room);
        if (it == mirrors_.end()) return;
        Mirror& m = it->second;
        m.reading = false;
        if (!is_ok(r) || r->type != RedisReply::Type::array || r->elements.size() != 4) return;
        uint64_t ver = to_u64(r->elements[0].str);
        bool persistent = false;
        rtc::Room h = header_from(r->elements[1], nullptr, &persistent);
        const std::vector<rtc::Member> members = members_in_join_order(r->elements[2], r->elements[3]);
        if (!m.ready) {
          // First read: the mirror starts as the room is now.
          dir_.close(room);
          rtc::RoomConfig cfg{h.kind.empty() ? std::string(rtc::kMeeting) : h.kind, SIZE_MAX, h.metadata};
          dir_.create(room, cfg, h.created_at);
          for (const auto& x : members) dir_.join(room, x, x.joined_at);
          m.ver = ver;
          m.persistent = persistent;
          m.ready = true;
          auto early = std::move(m.early);
          m.early.clear();
          for (auto& ev : early)
            if (ev.ver > m.ver) apply(room, ev, true);
        } else {
          // A re-read after an outage: tell our members what changed meanwhile.
          const rtc::Room* cur = dir_.find(room);
          std::vector<PeerId> gone;
          if (cur)
            for (const auto& x : cur->members) {
              const bool still = std::any_of(members.begin(), members.end(),
                                             [&](const rtc::Member& p) { return p.peer == x.peer; });
              if (!still) gone.push_back(x.peer);
            }
          for (const PeerId& p : gone) {
            wire::MemberEvent ev;
            ev.kind = wire::MemberEvent::leave;
            ev.member.peer = p;
            const rtc::Member* x = cur->find(p);
            ev.member.publisher = x && x->publisher;
            ev.reason = "disconnected";
            apply(room, ev, true);
            cur = dir_.find(room);
          }
          for (const auto& x : members) {
            const rtc::Member* have = cur ? cur->find(x.peer) : nullptr;
            wire::MemberEvent ev;
            ev.kind = !have ? wire::MemberEvent::join : wire::MemberEvent::update;
            if (have && have->metadata == x.metadata) continue;
            ev.member = x;
            apply(room, ev, true);
            cur = dir_.find(room);
          }
          m.ver = std::max(m.ver, ver);
        }
        complete_waiters(room);
      });
  if (!sent) mirrors_[room].reading = false;
}

void Cluster::ensure_mirror(const RoomId& room, std::function<void(bool)> done) {
  Mirror& m = mirrors_[room];
  if (m.ready && m.subscribed) return done(true);
  m.on_ready.push_back(std::move(done));
  auto subscribed = [this, room](bool ok) {
    auto it = mirrors_.find(room);
    if (it == mirrors_.end()) return;
    if (!ok) {
      auto waiting = std::move(it->second.on_ready);
      it->second.on_ready.clear();
      for (auto& f : waiting) f(false);
      return;
    }
    if (!it->second.ready && !it->second.reading) read_room(room);
    complete_waiters(room);
  };
  when_subscribed(room, std::move(subscribed));
}

void Cluster::complete_waiters(const RoomId& room) {
  auto it = mirrors_.find(room);
  if (it == mirrors_.end() || !it->second.ready) return;
  Mirror& m = it->second;
  std::vector<std::function<void(bool)>> mirrored;  // ensure_mirror callers
  if (m.subscribed) mirrored.swap(m.on_ready);
  std::vector<Mirror::Waiter> ready;
  for (auto w = m.waiting.begin(); w != m.waiting.end();) {
    if (w->ver <= m.ver) {
      ready.push_back(std::move(*w));
      w = m.waiting.erase(w);
    } else {
      ++w;
    }
  }
  for (auto& w : ready) {
    const rtc::Room* r = dir_.find(room);
    const rtc::Member* self = r ? r->find(w.peer) : nullptr;
    if (!self) {  // removed again before this node saw its join complete (kicked, reaped)
      w.result.status = JoinResult::unavailable;
      w.done(std::move(w.result));
      continue;
    }
    w.result.self = *self;
    for (const rtc::Member* x : r->contacts(*self)) w.result.contacts.push_back(*x);
    w.done(std::move(w.result));
  }
  for (auto& f : mirrored) f(true);
}

void Cluster::leave(RoomId room, PeerId peer, std::string reason) {
  asio::post(ioc_, [this, room = std::move(room), peer = std::move(peer), reason = std::move(reason)] {
    forget_own(room, peer);
    enqueue([this, room, peer, reason](std::function<void()> next) {
      do_leave(room, peer, reason, std::move(next));
    });
  });
}

void Cluster::do_leave(const RoomId& room, const PeerId& peer, const std::string& reason,
                       std::function<void()> next) {
  forget_own(room, peer);  // again: a join of this peer under way when leave() was asked has landed since
  // Unreachable Redis: restore() removes it when Redis is back (it is no longer in own_).
  const bool sent = leave_script(room, peer.str(), reason, options_.node_id,
                                 [this, room, reason, next](const RedisReply* r) {
                                   report_left(room, r, reason);
                                   forget_if_unused(room);
                                   next();
                                 });
  if (!sent) {
    forget_if_unused(room);
    next();
  }
}

void Cluster::forget_own(const RoomId& room, const PeerId& peer) {
  if (auto it = own_.find(room); it != own_.end()) {
    it->second.erase(peer);
    if (it->second.empty()) own_.erase(it);
  }
}

bool Cluster::leave_script(const RoomId& room, std::string_view peer, std::string_view reason,
                           std::string_view node, RedisConnection::Callback cb, std::string_view why) {
  const RoomKeys k(room);
  std::string extra;
  if (!why.empty()) {
    extra = ",\"why\":";
    json_append_string(extra, why);
  }
  commands_.fetch_add(1, std::memory_order_relaxed);
  return cmd_->command({"EVAL", scripts::kLeave, "6", k.meta, k.members, k.vers, kRooms, node_members(node),
                        peer_rooms(peer), room.str(), peer, reason, k.channel, extra, inbox_limit()},
                       std::move(cb));
}

void Cluster::report_left(const RoomId& room, const RedisReply* r, std::string_view reason) {
  if (!on_left_ || !is_ok(r) || r->type != RedisReply::Type::array || r->elements.size() != 5 ||
      r->elements[0].integer != 1)
    return;  // not a member (any more)
  LeaveResult lr;
  lr.left = true;
  lr.finished = r->elements[2].str == "1";
  lr.room = header_from(r->elements[3]);
  lr.room.id = room;
  wire::parse_member(r->elements[4].str, lr.member);
  on_left_(room, lr, reason);
}

void Cluster::update(RoomId room, PeerId peer, std::string metadata) {
  asio::post(
      ioc_, [this, room = std::move(room), peer = std::move(peer), metadata = std::move(metadata)]() mutable {
        auto it = own_.find(room);
        if (it == own_.end()) return;
        auto p = it->second.find(peer);
        if (p == it->second.end()) return;
        p->second.metadata = std::move(metadata);
        enqueue([this, room, member = p->second](std::function<void()> next) {
          const RoomKeys k(room);
          commands_.fetch_add(1, std::memory_order_relaxed);
          if (!cmd_->command({"EVAL", scripts::kUpdate, "2", k.meta, k.members, member.peer.str(),
                              wire::member_json(member), k.channel, room.str(), inbox_limit()},
                             [next](const RedisReply*) { next(); }))
            next();
        });
      });
}

void Cluster::forget_if_unused(const RoomId& room) {
  auto it = mirrors_.find(room);
  if (it == mirrors_.end() || local_members(room) > 0 || !it->second.waiting.empty() ||
      !it->second.on_subscribed.empty() || !it->second.on_ready.empty())
    return;
  for (const auto& [peer, t] : takes_)  // a session being taken over here is in it
    if (std::find(t.rooms.begin(), t.rooms.end(), room) != t.rooms.end()) return;
  // Pending joins for this room (later in the queue) subscribe again.
  if (it->second.subscribed || it->second.subscribing) sub_->unsubscribe({RoomKeys(room).channel});
  dir_.close(room);
  mirrors_.erase(it);
}

// --- what arrives on the subscriptions -------------------------------------------

void Cluster::on_message(std::string_view channel, std::string_view payload) {
  if (payload.empty()) return;
  if (channel == node_channel_) {
    if (payload.front() == wire::kPeerRelay) {
      wire::PeerRelay p;
      if (!wire::decode(payload, p)) return spdlog::warn("cluster: malformed relay on {}", channel);
      Relay frame{make_body(std::move(p.body)), p.type, Clock::now(), p.from_viewer};
      const PeerId to = p.to;
      const RoomId room = p.room;
      // Its session is on its way here: delivered once installed, answered once stored.
      if (hold_for(
              to, room, frame, true,
              Answer{p.origin_node, wire::RelayReply{p.from, p.origin_shard, p.ack_id, Admission::ok, {}}}))
        return;
      bus_.deliver_here(
          to, room, std::move(frame),
          [this, node = std::move(p.origin_node), from = std::move(p.from), shard = p.origin_shard,
           ack = std::move(p.ack_id)](Admission a) {
            if (a.verdict == Admission::ok && ack.empty()) return;
            wire::RelayReply rr{from, shard, ack, static_cast<uint8_t>(a.verdict), std::string(a.reason)};
            asio::post(ioc_, [this, node, rr = std::move(rr)]() mutable { reply(node, std::move(rr)); });
          });
    } else if (wire::is_handover(payload.front())) {
      wire::Handover h;
      if (!wire::decode(payload, h)) return spdlog::warn("cluster: malformed handover on {}", channel);
      on_handover(h);
    } else if (payload.front() == wire::kRelayReply) {
      wire::RelayReply r;
      if (!wire::decode(payload, r)) return spdlog::warn("cluster: malformed reply on {}", channel);
      reply(options_.node_id, std::move(r));  // the answer for a sender here
    }
    return;
  }
  if (!channel.starts_with(kRoomChannelPrefix)) return;
  const RoomId room(channel.substr(kRoomChannelPrefix.size()));
  if (payload.front() == '{') {
    wire::MemberEvent ev;
    if (!wire::parse_event(payload, ev)) return spdlog::warn("cluster: malformed event on {}", channel);
    return on_event(room, std::move(ev));
  }
  if (payload.front() == wire::kRoomRelay) {
    wire::RoomRelay b;
    if (!wire::decode(payload, b)) return spdlog::warn("cluster: malformed room relay on {}", channel);
    Relay frame{make_body(std::move(b.body)), b.type, Clock::now(), b.from_viewer};
    hold_for_room(room, b.except, frame, true);     // sessions being taken over here
    if (b.origin_node == options_.node_id) return;  // delivered here when it was sent
    bus_.to_room_here(room, b.except, frame);
  }
}

void Cluster::on_event(const RoomId& room, wire::MemberEvent ev) {
  auto it = mirrors_.find(room);
  if (it == mirrors_.end()) return;
  Mirror& m = it->second;
  if (!m.ready) {
    m.early.push_back(std::move(ev));
    return;
  }
  if (ev.ver <= m.ver) return;  // already in the mirror (read after it was published)
  apply(room, ev, true);
  complete_waiters(room);
}

void Cluster::apply(const RoomId& room, const wire::MemberEvent& ev, bool tell) {
  Mirror& m = mirrors_[room];
  m.ver = std::max(m.ver, ev.ver);
  const rtc::Room* r = dir_.find(room);
  if (!r) return;
  const bool broadcast = r->broadcast();
  // Members held here are told through the LocalBus; sessions being taken
  // over here keep the event until they are installed.
  auto tell_one = [&](uint32_t home, std::string_view node, const PeerId& peer, const Body& body) {
    if (node == options_.node_id)
      bus_.to_member(home, peer, room, body);
    else if (!takes_.empty())
      hold_for(peer, room, Relay{body, proto::MsgType::message, Clock::now(), false}, false);
  };
  auto tell_contacts = [&](const rtc::Room& room_now, const rtc::Member& about, const Body& body) {
    if (!tell) return;
    for (const rtc::Member* x : room_now.contacts(about)) tell_one(x->home, x->node, x->peer, body);
  };
  switch (ev.kind) {
    case wire::MemberEvent::join: {
      if (r->find(ev.member.peer)) return;
      if (dir_.join(room, ev.member, ev.member.joined_at) != rtc::JoinStatus::ok) return;
      r = dir_.find(room);
      const rtc::Member& self = r->members.back();
      tell_contacts(*r, self, make_body(proto::peer_joined(room, self, broadcast)));
      return;
    }
    case wire::MemberEvent::leave: {
      const rtc::Member* x = r->find(ev.member.peer);
      if (!x) return;
      const rtc::Member gone = *x;
      // A closed room's members each get room-closed, and no peer-left.
      std::vector<std::tuple<uint32_t, std::string, PeerId>> told;
      if (ev.reason != "room-closed")
        for (const rtc::Member* c : r->contacts(*x)) told.emplace_back(c->home, c->node.string(), c->peer);
      dir_.leave(room, ev.member.peer);
      if (tell && !told.empty()) {
        auto body = make_body(proto::peer_left(room, ev.member.peer, ev.reason));
        for (const auto& [home, node, peer] : told) tell_one(home, node, peer, body);
      }
      if (gone.node == options_.node_id) evict_own(room, gone, ev);  // last: it may end the mirror
      return;
    }
    case wire::MemberEvent::move:  // its session moved to another node: nobody is told
      dir_.relocate(room, ev.member.peer, ev.member.node, ev.member.home);
      return;
    case wire::MemberEvent::room:  // an operator's metadata: kept for restore(), nobody is told
      dir_.set_metadata(room, ev.member.metadata.string());
      return;
    case wire::MemberEvent::update: {
      if (!dir_.update(room, ev.member.peer, ev.member.metadata.string())) return;
      r = dir_.find(room);
      const rtc::Member* x = r->find(ev.member.peer);
      tell_contacts(*r, *x, make_body(proto::peer_updated(room, *x, broadcast)));
      return;
    }
  }
}

// --- relays ------------------------------------------------------------------------

void Cluster::to_peer(uint32_t origin_shard, const PeerId& from, const PeerId& to, const RoomId& room,
                      Relay frame, std::string ack_id) {
  asio::post(ioc_, [this, origin_shard, from, to, room, frame = std::move(frame),
                    ack_id = std::move(ack_id)]() mutable {
    const rtc::Room* r = dir_.find(room);
    const rtc::Member* m = r ? r->find(to) : nullptr;
    if (!m) return bus_.reply(origin_shard, from, std::move(ack_id), Admission::absent, {});
    if (options_.log_messages > 0) {  // sessions move between nodes: Redis knows where it is now
      wire::PeerRelay p{options_.node_id, origin_shard,      from,   to,         room,
                        frame.type,       frame.from_viewer, ack_id, *frame.body};
      return deliver_script(origin_shard, from, to, std::move(p));
    }
    if (m->node == options_.node_id) {  // ours after all (its id carries another node's tag)
      return bus_.deliver_here(to, room, std::move(frame),
                               [this, origin_shard, from, ack_id = std::move(ack_id)](Admission a) mutable {
                                 if (a.verdict == Admission::ok && ack_id.empty()) return;
                                 bus_.reply(origin_shard, from, std::move(ack_id), a.verdict,
                                            std::string(a.reason));
                               });
    }
    wire::PeerRelay p{options_.node_id, origin_shard,      from,   to,         room,
                      frame.type,       frame.from_viewer, ack_id, *frame.body};
    const bool sent = publish(node_channel(m->node), wire::encode(p),
                              [this, origin_shard, from, ack_id](const RedisReply* rep) mutable {
                                if (!rep || rep->is_error())
                                  bus_.reply(origin_shard, from, std::move(ack_id), 3, {});
                                else if (rep->integer == 0)  // nobody listens: that node is gone
                                  bus_.reply(origin_shard, from, std::move(ack_id), Admission::absent, {});
                              });
    if (!sent) bus_.reply(origin_shard, from, std::move(ack_id), 3, {});
  });
}

void Cluster::to_room(const RoomId& room, const PeerId& except, const Relay& frame) {
  asio::post(ioc_, [this, room, except, frame] {
    const rtc::Room* r = dir_.find(room);
    if (!r) return;
    std::vector<std::string> nodes;  // O(members): a broadcast room's viewers may sit on many nodes
    for (const rtc::Member& m : r->members)
      if (m.node != options_.node_id && std::find(nodes.begin(), nodes.end(), m.node) == nodes.end())
        nodes.push_back(m.node.string());
    if (nodes.empty()) return;  // every member is here: delivered already
    room_send(room, wire::RoomRelay{options_.node_id, except, frame.type, frame.from_viewer, *frame.body},
              nodes);
  });
}

bool Cluster::room_send(const RoomId& room, const wire::RoomRelay& b, const std::vector<std::string>& nodes) {
  const RoomKeys k(room);
  if (options_.log_messages == 0) return publish(k.channel, wire::encode(b));
  const wire::PeerRelayParts kept = wire::encode_around_to(
      wire::PeerRelay{b.origin_node, 0, b.except, PeerId(), room, b.type, b.from_viewer, {}, b.body});
  const std::string relay = wire::encode(b);
  const std::string limit = inbox_limit();
  std::vector<std::string_view> args{"EVAL", scripts::kRoomSend, "1",       k.members, k.channel,
                                     relay,  kept.head,          kept.tail, limit,     b.except.str()};
  for (const std::string& n : nodes) args.push_back(n);
  commands_.fetch_add(1, std::memory_order_relaxed);
  return cmd_->command(args);
}

void Cluster::reply(const std::string& node, wire::RelayReply r) {
  if (node == options_.node_id) {
    if (options_.log_messages > 0 && !answered(r.shard, r.to, r.ack_id) && !r.ack_id.empty())
      return;  // answered `unavailable` already (too late)
    return bus_.reply(r.shard, r.to, std::move(r.ack_id), r.verdict, std::move(r.reason));
  }
  publish(node_channel(node), wire::encode(r));
}

// --- failures ------------------------------------------------------------------------

void Cluster::on_lost(const std::string& node) {
  auto timer = std::make_shared<asio::steady_timer>(ioc_, options_.lost_grace);
  lost_timers_.push_back(timer);
  timer->async_wait([this, node, timer](boost::system::error_code ec) {
    std::erase(lost_timers_, timer);
    if (ec || stopped_) return;
    enqueue([this, node](std::function<void()> next) { reap(node, std::move(next)); });
  });
}

void Cluster::reap(const std::string& node, std::function<void()> next) {
  reap_sessions(node);
  const std::string set = node_members(node);
  const bool sent = cmd_->command({"SMEMBERS", set}, [this, node, set, next](const RedisReply* r) {
    if (!is_ok(r) || r->type != RedisReply::Type::array) return next();
    auto left = std::make_shared<size_t>(r->elements.size());
    spdlog::warn("cluster: removing {} members of lost node {}", *left, node);
    auto finish = [this, set, node, next] {
      cmd_->command({"DEL", set});
      registry_->forget(node);
      next();
    };
    if (*left == 0) return finish();
    for (const auto& e : r->elements) {
      const auto space = e.str.find(' ');
      if (space == std::string::npos) {
        if (--*left == 0) finish();
        continue;
      }
      const RoomId room(e.str.substr(0, space));
      const std::string peer = e.str.substr(space + 1);
      const bool ok =
          leave_script(room, peer, "node-lost", node, [this, room, left, finish](const RedisReply* rep) {
            report_left(room, rep, "node-lost");
            if (--*left == 0) finish();
          });
      if (!ok && --*left == 0) finish();
    }
  });
  if (!sent) next();
}

void Cluster::restore() {
  restoring_ = true;
  update_ready();
  enqueue([this](std::function<void()> next) {
    size_t restored = 0;
    restore_sessions();
    for (const auto& [room, members] : own_) {
      const RoomKeys k(room);
      auto mit = mirrors_.find(room);
      const rtc::Room* r = dir_.find(room);
      const std::string kind = r ? r->kind : std::string(rtc::kMeeting);
      const std::string metadata = r ? r->metadata : std::string("{}");
      const std::string created_at = std::to_string(r ? r->created_at : 0);
      const std::string persistent = mit != mirrors_.end() && mit->second.persistent ? "1" : "0";
      const std::string min_ver = std::to_string(mit != mirrors_.end() ? mit->second.ver : 0);
      for (const auto& [peer, m] : members) {
        // The cap as it was: the room's, else (never read) generous enough to put everyone back.
        const std::string max_peers = std::to_string(r && r->max_peers != SIZE_MAX ? r->max_peers : 1000000);
        commands_.fetch_add(1, std::memory_order_relaxed);
        cmd_->command({"EVAL", scripts::kRestore, "6", k.meta, k.members, k.vers, kRooms,
                       node_members(options_.node_id), peer_rooms(peer.str()), room.str(), peer.str(),
                       wire::member_json(m), kind, max_peers, metadata, created_at, persistent, min_ver,
                       k.channel});
        ++restored;
      }
    }
    // What Redis still lists for this node but it no longer holds (left while Redis was away).
    const std::string set = node_members(options_.node_id);
    const bool sent = cmd_->command({"SMEMBERS", set}, [this, set, next, restored](const RedisReply* r) {
      size_t removed = 0;
      if (is_ok(r) && r->type == RedisReply::Type::array)
        for (const auto& e : r->elements) {
          const auto space = e.str.find(' ');
          if (space == std::string::npos) continue;
          const RoomId room(e.str.substr(0, space));
          const PeerId peer(e.str.substr(space + 1));
          if (auto it = own_.find(room); it != own_.end() && it->second.count(peer)) continue;
          leave_script(room, peer.str(), "disconnected", options_.node_id);
          ++removed;
        }
      spdlog::info("cluster: Redis is back; {} members put back, {} removed", restored, removed);
      restoring_ = false;  // replies come in order: every restore script has run
      update_ready();
      next();
    });
    if (!sent) {  // lost again: the next reconnect restores
      restoring_ = false;
      next();
    }
    // Then catch up with what the other nodes changed meanwhile.
    resync_timer_.expires_after(options_.resync_delay);
    resync_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) resync();
    });
  });
}

void Cluster::resync() {
  for (auto& [room, m] : mirrors_)
    if (m.ready && !m.reading) read_room(room);
}

}  // namespace sb::routing
