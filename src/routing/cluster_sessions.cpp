// routing/cluster_sessions.cpp — resumable sessions in cluster mode: the
// stored log of what each session was sent, and the handover of a session to
// the node its client came back to.
//
// The handover, when node T takes the session of peer P from node H:
//  1. T reads the session record (sb:s) and checks the user and secret, reads
//     P's rooms (sb:pr) and mirrors them (subscribed before anything else, so
//     T sees every later room relay and membership event).
//  2. T asks H to let go (Handover::release on H's channel). When nobody
//     listens there, H is gone: T runs kHandoff itself.
//  3. kHandoff (run by H, or by T when H is gone) points P's relays at T and
//     publishes the handover point on both channels. H's subscription sees it
//     after every relay routed to H before: H then removes the session without
//     telling anyone and, once the frames it stamped are stored, answers
//     Handover::released. T's subscription sees the point before every relay
//     routed to T after it: from there T keeps P's relays, P's rooms' relays
//     and membership events (`held`).
//  4. On `released` (or at once when H is gone, or after release_timeout), T
//     runs kTake: the stored log, the inbox (what was kept while H was gone:
//     relays, room-wide relays and membership events; see keep_for in
//     routing/cluster_scripts.h), and P's memberships moved to T. T's caller
//     installs the session and sends the client what it missed, then what was
//     held; later frames reach the session through the LocalBus like any other.
// Relays from one sender to P stay in order: each went either to H before the
// point (in the log) or to T after it (held, then live).
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <charconv>

#include "proto/encode.h"
#include "routing/cluster.h"
#include "routing/cluster_keys.h"
#include "routing/cluster_scripts.h"
#include "routing/resume_store.h"

namespace sb::routing {

namespace asio = boost::asio;

using namespace keys;

namespace {

// How often a session's log is trimmed: every this many frames.
constexpr uint64_t kTrimEvery = 64;

}  // namespace

// --- the stored log ---------------------------------------------------------------

void Cluster::session_started(SessionRecord r) {
  if (options_.log_messages == 0) return;
  asio::post(ioc_, [this, r = std::move(r)]() mutable {
    put_session(r);
    own_sessions_[r.peer] = std::move(r);
  });
}

void Cluster::put_session(const SessionRecord& r) {
  commands_.fetch_add(1, std::memory_order_relaxed);
  cmd_->command({"EVAL", scripts::kSessionPut, "3", session_key(r.session), peer_node_key(r.peer),
                 node_sessions(options_.node_id), r.peer.str(), r.user.str(), r.secret, options_.node_id,
                 r.session.str()});
}

void Cluster::session_ended(const SessionId& session, const PeerId& peer) {
  if (options_.log_messages == 0) return;
  asio::post(ioc_, [this, session, peer] {
    own_sessions_.erase(peer);
    appended_.erase(peer);
    commands_.fetch_add(1, std::memory_order_relaxed);
    cmd_->command({"EVAL", scripts::kSessionEnd, "2", session_key(session), node_sessions(options_.node_id),
                   session.str(), options_.node_id});
  });
}

void Cluster::append(const PeerId& peer, uint64_t seq, const Body& body) {
  asio::post(ioc_, [this, peer, seq, body] {
    std::string entry = std::to_string(seq);
    entry.push_back(' ');
    entry += *body;
    const std::string key = log_key(peer);
    commands_.fetch_add(1, std::memory_order_relaxed);
    if (cmd_->command({"RPUSH", key, entry}, [this](const RedisReply*) {
          ++log_done_;
          while (!barriers_.empty() && barriers_.front().first <= log_done_) {
            auto fn = std::move(barriers_.front().second);
            barriers_.pop_front();
            fn();
          }
        }))
      ++log_sent_;
    if (++appended_[peer] % kTrimEvery == 0) {
      const auto keep = static_cast<int64_t>(options_.log_messages);
      cmd_->command({"LTRIM", key, std::to_string(-keep), "-1"});
    }
  });
}

void Cluster::barrier(std::function<void()> fn) {
  asio::post(ioc_, [this, fn = std::move(fn)]() mutable {
    if (log_done_ >= log_sent_) return fn();
    barriers_.emplace_back(log_sent_, std::move(fn));
  });
}

// --- relays to peers of other nodes -------------------------------------------------

void Cluster::deliver_script(uint32_t origin_shard, const PeerId& from, const PeerId& to, wire::PeerRelay p) {
  const std::string limit = inbox_limit();
  // Awaited before the script runs: the answer may come on the subscription before the script's reply.
  await_answer(origin_shard, from, p.ack_id);
  commands_.fetch_add(1, std::memory_order_relaxed);
  const bool sent = cmd_->command(
      {"EVAL", scripts::kDeliver, "1", peer_node_key(to), wire::encode(p), to.str(), limit},
      [this, origin_shard, from, ack_id = p.ack_id](const RedisReply* r) mutable {
        const int64_t verdict = is_ok(r) && r->type == RedisReply::Type::integer ? r->integer : 0;
        if (verdict == 1) return;  // that node answers
        answered(origin_shard, from, ack_id);
        switch (verdict) {
          case 2:  // kept for whichever node resumes the session
            if (!ack_id.empty()) bus_.reply(origin_shard, from, std::move(ack_id), Admission::ok, {});
            return;
          case -1: return bus_.reply(origin_shard, from, std::move(ack_id), Admission::absent, {});
          default: return bus_.reply(origin_shard, from, std::move(ack_id), 3, {});
        }
      });
  if (!sent) {
    answered(origin_shard, from, p.ack_id);
    bus_.reply(origin_shard, from, std::move(p.ack_id), 3, {});
  }
}

// --- answers that do not come ----------------------------------------------------

namespace {
// How long a sender waits for the recipient's node to answer a relay.
constexpr std::chrono::seconds kAnswerTimeout{5};
}  // namespace

std::string Cluster::awaited_key(uint32_t shard, const PeerId& from, std::string_view ack_id) {
  std::string k = std::to_string(shard);
  k.push_back(' ');
  k += from.str();
  k.push_back(' ');
  k.append(ack_id);
  return k;
}

void Cluster::await_answer(uint32_t shard, const PeerId& from, const std::string& ack_id) {
  if (ack_id.empty()) return;
  awaited_[awaited_key(shard, from, ack_id)] =
      Awaited{shard, from, ack_id, std::chrono::steady_clock::now() + kAnswerTimeout};
}

bool Cluster::answered(uint32_t shard, const PeerId& from, std::string_view ack_id) {
  if (ack_id.empty() || awaited_.empty()) return ack_id.empty();
  return awaited_.erase(awaited_key(shard, from, ack_id)) > 0;
}

void Cluster::expire_awaited() {
  if (awaited_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = awaited_.begin(); it != awaited_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    bus_.reply(it->second.shard, it->second.from, std::move(it->second.ack_id), 3, {});
    it = awaited_.erase(it);
  }
}

// --- handover: the taker ------------------------------------------------------------

void Cluster::take_session(SessionId session, UserId user, std::string secret, TakeDone done) {
  asio::post(ioc_, [this, session = std::move(session), user = std::move(user), secret = std::move(secret),
                    done = std::move(done)]() mutable {
    auto fail = [](TakeDone& d, Taken::Status st, std::string why) { d(Taken::failure(st, std::move(why))); };
    if (options_.log_messages == 0) return fail(done, Taken::refused, "resume is off");
    if (!cmd_->up() || !sub_->up()) return fail(done, Taken::unavailable, "Redis unreachable");
    commands_.fetch_add(1, std::memory_order_relaxed);
    const bool sent = cmd_->command({"HGETALL", session_key(session)}, [this, session, user, secret, done,
                                                                        fail](const RedisReply* r) mutable {
      if (!is_ok(r) || r->type != RedisReply::Type::array)
        return fail(done, Taken::unavailable, "Redis unreachable");
      SessionRecord rec;
      rec.session = session;
      std::string node;
      for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
        const std::string& k = r->elements[i].str;
        const std::string& v = r->elements[i + 1].str;
        if (k == "peer")
          rec.peer = PeerId(v);
        else if (k == "user")
          rec.user = UserId(v);
        else if (k == "secret")
          rec.secret = v;
        else if (k == "node")
          node = v;
      }
      if (rec.peer.empty()) return fail(done, Taken::refused, "unknown session");
      if (rec.user != user) return fail(done, Taken::refused, "other user");
      if (!secrets_equal(rec.secret, secret)) return fail(done, Taken::refused, "wrong resume_token");
      if (node == options_.node_id) return fail(done, Taken::refused, "held here, being handed over");
      if (takes_.count(rec.peer)) return fail(done, Taken::refused, "a resume is under way");
      const int home = shard_of(rec.peer, bus_.shard_count());
      if (home < 0) return fail(done, Taken::refused, "not a peer id of this cluster");
      const PeerId peer = rec.peer;
      Take& t = takes_[peer];
      t.record = std::move(rec);
      t.home = static_cast<uint32_t>(home);
      t.from = node;
      t.done = std::move(done);
      commands_.fetch_add(1, std::memory_order_relaxed);
      const bool asked =
          cmd_->command({"SMEMBERS", peer_rooms(peer.str())}, [this, peer](const RedisReply* rooms) {
            auto it = takes_.find(peer);
            if (it == takes_.end()) return;
            if (!is_ok(rooms) || rooms->type != RedisReply::Type::array)
              return finish_take(peer, Taken::failure(Taken::unavailable, "Redis unreachable"));
            for (const auto& e : rooms->elements) it->second.rooms.emplace_back(e.str);
            // Mirror every room first: from the handover point on, this node must see it all.
            auto left = std::make_shared<size_t>(it->second.rooms.size() + 1);
            auto failed = std::make_shared<bool>(false);
            auto one = [this, peer, left, failed](bool mirrored) {
              if (!mirrored) *failed = true;
              if (--*left > 0) return;
              if (*failed)
                return finish_take(peer, Taken::failure(Taken::unavailable, "rooms could not be mirrored"));
              request_release(peer);
            };
            for (const RoomId& room : it->second.rooms) ensure_mirror(room, one);
            one(true);
          });
      if (!asked) finish_take(peer, Taken::failure(Taken::unavailable, "Redis unreachable"));
    });
    if (!sent) fail(done, Taken::unavailable, "Redis unreachable");
  });
}

void Cluster::request_release(const PeerId& peer) {
  auto it = takes_.find(peer);
  if (it == takes_.end()) return;
  Take& t = it->second;
  const std::string from = t.from;
  auto force = [this, peer, from] {
    // Not handed (someone else moved it meanwhile, or Redis failed): the take script decides.
    handoff(peer, from, options_.node_id, [this, peer](bool) { run_take(peer); });
  };
  if (from.empty()) return force();
  t.timer = std::make_shared<asio::steady_timer>(ioc_, options_.release_timeout);
  t.timer->async_wait([this, peer, force](boost::system::error_code ec) {
    if (ec || stopped_) return;
    auto pending = takes_.find(peer);
    if (pending == takes_.end() || pending->second.taking) return;
    spdlog::warn("cluster: node {} did not let session of {} go in time; taking it", pending->second.from,
                 peer.str());
    force();
  });
  const bool sent =
      publish(node_channel(from),
              wire::encode(wire::Handover{wire::Handover::release, peer, t.record.session, options_.node_id}),
              [this, peer, force](const RedisReply* r) {
                if (!is_ok(r))
                  return finish_take(peer, Taken::failure(Taken::unavailable, "Redis unreachable"));
                if (r->integer == 0) force();  // nobody listens: the holder is gone
              });
  if (!sent) finish_take(peer, Taken::failure(Taken::unavailable, "Redis unreachable"));
}

void Cluster::handoff(const PeerId& peer, const std::string& from, const std::string& to,
                      std::function<void(bool)> done) {
  auto it_rec = own_sessions_.find(peer);
  auto t = takes_.find(peer);
  const SessionId session = it_rec != own_sessions_.end() ? it_rec->second.session
                            : t != takes_.end()           ? t->second.record.session
                                                          : SessionId();
  commands_.fetch_add(1, std::memory_order_relaxed);
  const bool sent = cmd_->command({"EVAL", scripts::kHandoff, "2", peer_node_key(peer), session_key(session),
                                   from, to, peer.str(), session.str()},
                                  [done](const RedisReply* r) {
                                    if (done) done(is_ok(r) && r->integer == 1);
                                  });
  if (!sent && done) done(false);
}

void Cluster::run_take(const PeerId& peer) {
  auto it = takes_.find(peer);
  if (it == takes_.end() || it->second.taking) return;
  Take& t = it->second;
  t.taking = true;
  if (t.timer) t.timer->cancel();
  const std::string_view s = t.record.session.str();
  commands_.fetch_add(1, std::memory_order_relaxed);
  const bool sent = cmd_->command(
      {"EVAL", scripts::kTake, "6", session_key(t.record.session), log_key(peer), inbox_key(peer),
       peer_rooms(peer.str()), node_sessions(t.from), node_sessions(options_.node_id), s, peer.str(), t.from,
       options_.node_id, std::to_string(t.home)},
      [this, peer](const RedisReply* r) {
        auto pending = takes_.find(peer);
        if (pending == takes_.end()) return;
        Take& tk = pending->second;
        if (!is_ok(r) || r->type != RedisReply::Type::array)
          return finish_take(peer, Taken::failure(Taken::unavailable, "Redis unreachable"));
        if (r->elements.size() != 3)
          return finish_take(peer, Taken::failure(Taken::refused, "taken by another node"));
        Taken out;
        out.status = Taken::ok;
        out.record = tk.record;
        for (const auto& e : r->elements[0].elements) {
          const auto space = e.str.find(' ');
          if (space == std::string::npos) continue;
          uint64_t seq = 0;
          std::from_chars(e.str.data(), e.str.data() + space, seq);
          if (seq == 0 || (!out.log.empty() && seq <= out.log.back().first)) continue;
          out.log.emplace_back(seq, make_body(e.str.substr(space + 1)));
        }
        // What was kept while the holder was gone comes first: it was routed before the handover point.
        for (const auto& e : r->elements[1].elements) {
          if (e.str.empty()) continue;
          switch (e.str.front()) {
            case wire::kPeerRelay: {  // unicast or room-wide
              wire::PeerRelay p;
              if (!wire::decode(e.str, p)) break;
              out.held.push_back({p.room,
                                  Relay{make_body(std::move(p.body)), p.type, Clock::now(), p.from_viewer},
                                  true, std::nullopt});
              break;
            }
            case wire::kKeptEvent: unpack_kept_event(peer, e.str, out); break;
            case wire::kInboxOverflow: out.overflowed = true; break;
          }
        }
        for (auto& h : tk.held) out.held.push_back(std::move(h));
        tk.held.clear();
        // This node holds it now: its memberships name this node (before the move events arrive).
        for (const auto& e : r->elements[2].elements) {
          const RoomId room(e.str);
          const rtc::Room* rr = dir_.find(room);
          const rtc::Member* m = rr ? rr->find(peer) : nullptr;
          if (!m) continue;
          dir_.relocate(room, peer, options_.node_id, tk.home);
          rtc::Member mine = *rr->find(peer);
          own_[room][peer] = mine;
          out.rooms.push_back({room, rr->broadcast() && !mine.publisher});
        }
        own_sessions_[peer] = tk.record;
        finish_take(peer, std::move(out));
      });
  if (!sent) finish_take(peer, Taken::failure(Taken::unavailable, "Redis unreachable"));
}

void Cluster::unpack_kept_event(const PeerId& peer, std::string_view entry, Taken& out) {
  wire::KeptEvent kept;
  wire::MemberEvent ev;
  if (!wire::decode(entry, kept) || !wire::parse_event(kept.event, ev)) return;
  const RoomId& room = kept.room;
  if (ev.member.peer == peer) {  // removed by an operator (the scripts keep no other event about itself)
    if (ev.kind != wire::MemberEvent::leave || (ev.reason != "kicked" && ev.reason != "room-closed")) return;
    const bool closed = ev.reason == "room-closed";
    Relay notice{make_body(closed ? proto::room_closed(room)
                                  : proto::kicked(room, ev.why.empty() ? "kicked" : ev.why)),
                 proto::MsgType::message, Clock::now(), false};
    out.held.push_back({room, std::move(notice), false, std::nullopt, true});
    return;
  }
  // Told as apply() tells its contacts; the room as mirrored now (its kind, the
  // session's role) decides who is in contact.
  const rtc::Room* r = dir_.find(room);
  const rtc::Member* self = r ? r->find(peer) : nullptr;
  if (!self || !rtc::in_contact(r->broadcast(), self->publisher, ev.member.publisher)) return;
  Body body;
  switch (ev.kind) {
    case wire::MemberEvent::join:
      body = make_body(proto::peer_joined(room, ev.member, r->broadcast()));
      break;
    case wire::MemberEvent::update:
      body = make_body(proto::peer_updated(room, ev.member, r->broadcast()));
      break;
    case wire::MemberEvent::leave:
      if (ev.reason == "room-closed") return;  // each member gets room-closed, nobody peer-left
      body = make_body(proto::peer_left(room, ev.member.peer, ev.reason));
      break;
    case wire::MemberEvent::move:
    case wire::MemberEvent::room: return;
  }
  out.held.push_back(
      {room, Relay{std::move(body), proto::MsgType::message, Clock::now(), false}, false, std::nullopt});
}

void Cluster::finish_take(const PeerId& peer, Taken result) {
  auto it = takes_.find(peer);
  if (it == takes_.end()) return;
  Take t = std::move(it->second);
  takes_.erase(it);
  if (t.timer) t.timer->cancel();
  if (result.status != Taken::ok) {
    spdlog::info("cluster: resume of {} from node {} failed: {}", peer.str(), t.from, result.why);
    answer_held(refused(t.held));  // what was held for it is lost here: `unavailable`, not an ack
    for (const RoomId& room : t.rooms) forget_if_unused(room);
  } else {
    spdlog::info("cluster: took session of {} from node {} ({} frames stored, {} waiting)", peer.str(),
                 t.from.empty() ? "-" : t.from, result.log.size(), result.held.size());
  }
  t.done(std::move(result));
}

bool Cluster::hold_for(const PeerId& peer, const RoomId& room, const Relay& frame, bool relay,
                       std::optional<Answer> answer) {
  auto it = takes_.find(peer);
  if (it == takes_.end() || !it->second.holding) return false;
  it->second.held.push_back({room, frame, relay, std::move(answer)});
  return true;
}

std::vector<Cluster::Answer> Cluster::refused(std::vector<Taken::Held>& held) {
  std::vector<Answer> out;
  for (auto& h : held)
    if (h.answer) {
      h.answer->reply.verdict = 3;  // unavailable (LocalBus::reply)
      out.push_back(std::move(*h.answer));
    }
  return out;
}

void Cluster::answer_held(std::vector<Answer> answers) {
  if (answers.empty()) return;
  barrier([this, answers = std::move(answers)]() mutable {
    for (Answer& a : answers)
      if (a.reply.verdict != Admission::ok || !a.reply.ack_id.empty()) reply(a.node, std::move(a.reply));
  });
}

void Cluster::hold_for_room(const RoomId& room, const PeerId& except, const Relay& frame, bool relay,
                            const PeerId* about) {
  for (auto& [peer, t] : takes_) {
    if (!t.holding || peer == except || (about && peer == *about)) continue;
    if (std::find(t.rooms.begin(), t.rooms.end(), room) != t.rooms.end())
      t.held.push_back({room, frame, relay, {}});
  }
}

// --- handover: both sides ---------------------------------------------------------

void Cluster::on_handover(const wire::Handover& h) {
  switch (h.kind) {
    case wire::Handover::release: {  // we hold it (or held it): let go to h.node
      if (!own_sessions_.count(h.peer)) return;
      handoff(h.peer, options_.node_id, h.node);
      return;
    }
    case wire::Handover::handed: {  // every relay routed here before is in: remove the session
      auto it = own_sessions_.find(h.peer);
      if (it == own_sessions_.end()) return;
      const SessionId session = it->second.session;
      own_sessions_.erase(it);
      appended_.erase(h.peer);
      std::vector<RoomId> rooms;
      for (auto& [room, members] : own_)
        if (members.count(h.peer)) rooms.push_back(room);
      for (const RoomId& room : rooms) forget_own(room, h.peer);
      auto released = [this, peer = h.peer, session, to = h.node] {
        asio::post(ioc_, [this, peer, session, to] {
          // After the frames the session stamped (posted before this): the taker reads a complete log.
          publish(node_channel(to),
                  wire::encode(wire::Handover{wire::Handover::released, peer, session, options_.node_id}));
        });
      };
      if (on_handoff_)
        on_handoff_(h.peer, session, std::move(released));
      else
        released();
      for (const RoomId& room : rooms) forget_if_unused(room);
      return;
    }
    case wire::Handover::point: {
      auto it = takes_.find(h.peer);
      if (it != takes_.end()) it->second.holding = true;
      return;
    }
    case wire::Handover::released: {
      auto it = takes_.find(h.peer);
      if (it != takes_.end() && it->second.from == h.node) run_take(h.peer);
      return;
    }
  }
}

// --- failures -----------------------------------------------------------------------

void Cluster::reap_sessions(const std::string& node) {
  const std::string set = node_sessions(node);
  commands_.fetch_add(1, std::memory_order_relaxed);
  cmd_->command({"SMEMBERS", set}, [this, node, set](const RedisReply* r) {
    if (!is_ok(r) || r->type != RedisReply::Type::array) return;
    for (const auto& e : r->elements)
      cmd_->command({"EVAL", scripts::kSessionEnd, "2", session_key(SessionId(e.str)), set, e.str, node});
    if (!r->elements.empty())
      spdlog::warn("cluster: forgot {} sessions of lost node {}", r->elements.size(), node);
  });
}

void Cluster::take_back_inboxes() {
  for (const auto& [peer, r] : own_sessions_) {
    commands_.fetch_add(1, std::memory_order_relaxed);
    cmd_->command(
        {"EVAL", scripts::kTakeInbox, "2", inbox_key(peer), inbox_size_key(peer)},
        [this, peer](const RedisReply* rep) {
          if (!is_ok(rep) || rep->type != RedisReply::Type::array) return;
          for (const auto& e : rep->elements) {
            if (e.str.size() == 1 && e.str.front() == wire::kInboxOverflow)
              spdlog::warn(
                  "cluster: frames for {} were lost while this node did not listen (its inbox was full)",
                  peer.str());
            wire::PeerRelay p;  // unicast relays were acked when kept; room-wide ones want no answer
            if (!wire::decode(e.str, p)) continue;
            const RoomId room = p.room;
            bus_.deliver_here(p.to, room,
                              Relay{make_body(std::move(p.body)), p.type, Clock::now(), p.from_viewer},
                              [](Admission) {});
          }
        });
  }
}

void Cluster::restore_sessions() {
  for (const auto& [peer, r] : own_sessions_) put_session(r);
}

}  // namespace sb::routing
