// routing/cluster.h — this node's part in a cluster of nodes sharing Redis.
//
// With `--redis`, room membership lives in Redis and every node may serve any
// client. The Cluster runs on its own thread and event loop, with two Redis
// connections (commands; subscriptions) and the node registry:
//
// - Membership changes (join, leave, update, and the clean-up of a lost node)
//   are Lua scripts (routing/cluster_scripts.h), run one at a time in the
//   order they were asked for. Each bumps the room's version and publishes
//   the change on the room's channel `sb:r:<room>`.
// - The node subscribes to the channel of every room where it holds members
//   and keeps a mirror of those rooms (members, which node holds each): it
//   applies the published changes in version order and tells its own members
//   (peer-joined, peer-left, peer-updated) through the LocalBus, so peers see
//   what they would see on one node, in one order per room. A join completes
//   once the mirror has seen the join's own version; the joiner's `joined`
//   lists the mirror's members at that version, and it gets every later change.
// - Relays: a unicast to a peer held by another node is published once on
//   that node's channel `sb:n:<node>`; the answer (ack, peer-not-found,
//   forbidden) comes back on the sender's node channel. A room-wide relay is
//   published once on the room's channel (only when other nodes hold members)
//   and each node delivers it to its own members: once per node, never per
//   peer. All publishes of a node leave through one connection and all its
//   subscriptions arrive through one, so frames from one sender to one
//   recipient keep their order.
// - Nodes: heartbeats with a TTL (routing/node_registry.h). When a node is
//   lost, one survivor waits `lost_grace` (the resume window) and then
//   removes the lost node's members from their rooms with reason `node-lost`.
// - Redis outage: relays among the node's own peers go on (the LocalBus needs
//   no Redis); joins fail with `unavailable`; ready() is false. When Redis is
//   back the node subscribes again, puts its own members back (a restarted
//   Redis lost them; the room versions only go forward), removes from Redis
//   what it no longer holds, and re-reads the rooms it mirrors to catch up
//   with changes it missed.
//
// Thread safety: the public calls may be made from any thread (they post to
// the cluster's loop); callbacks run on the cluster's loop.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "routing/cluster_wire.h"
#include "routing/local_bus.h"
#include "routing/node_registry.h"
#include "routing/redis_connection.h"
#include "routing/replay_buffer.h"
#include "rtc/room_directory.h"

namespace sb::routing {

struct ClusterOptions {
  std::string node_id;  // unique in the cluster
  RedisEndpoint redis;
  RedisOptions redis_options;
  NodeRegistryOptions registry;
  // A lost node's members are removed this long after it was found lost (the
  // resume window: a session may continue elsewhere meanwhile).
  std::chrono::milliseconds lost_grace{30000};
  // After a reconnect, how long to wait before re-reading the mirrored rooms,
  // so that the other nodes have put their members back first.
  std::chrono::milliseconds resync_delay{2000};
  // Session resume (0 messages: off): how many stamped frames of a session are
  // kept in Redis (sb:log), and how much (messages, bytes) its inbox keeps while its node is gone.
  size_t log_messages = 0;
  size_t inbox_bytes = 1024 * 1024;
  // How long a taker waits for a live holder to let a session go before taking it anyway.
  std::chrono::milliseconds release_timeout{3000};
};

class Cluster final : public RemoteRelay, public ReplayLog {
 public:
  // A resumable session as registered in Redis.
  struct SessionRecord {
    SessionId session;
    PeerId peer;
    UserId user;
    std::string secret;
  };
  // The answer to a relay from another node: to `node`, about `reply.to`'s message.
  struct Answer {
    std::string node;
    wire::RelayReply reply;
  };
  // What a node that takes a session over gets (see take_session).
  struct Taken {
    enum Status { ok, refused, unavailable };
    Status status = unavailable;
    std::string why;  // refused: for the log
    SessionRecord record;
    std::vector<std::pair<uint64_t, Body>> log;  // the stored frames, seq ascending
    struct Room {
      RoomId room;
      bool viewer = false;  // a viewer of a broadcast room
    };
    std::vector<Room> rooms;
    // Frames for the session that arrived while it had no holder, in order:
    // relays (checked with Endpoint::admit on delivery) and membership events.
    struct Held {
      RoomId room;
      Relay frame;
      bool relay = true;
      // A relay whose sender waits for its answer (or is told a refusal):
      // given once the frame is stored (answer_held), not when it is held.
      std::optional<Answer> answer;
      // An operator removed the session from `room` (kicked, room-closed):
      // delivered though the session is no longer in the room.
      bool notice = false;
    };
    std::vector<Held> held;
    // More came while its node was gone than the inbox keeps: the session
    // cannot go on exactly (it ends, as on a replay overflow).
    bool overflowed = false;
    static Taken failure(Status st, std::string why) {
      Taken t;
      t.status = st;
      t.why = std::move(why);
      return t;
    }
  };
  using TakeDone = std::function<void(Taken)>;
  // Lets the session of `peer` go (the Hub removes it without telling anyone)
  // and then calls `done` from any thread. Called on the cluster's loop.
  using HandoffFn =
      std::function<void(const PeerId& peer, const SessionId& session, std::function<void()> done)>;

  struct JoinRequest {
    RoomId room;
    rtc::Member member;       // `node` is filled in by the cluster
    rtc::RoomConfig created;  // used if this join creates the room; max_peers already resolved (> 0)
  };
  struct JoinResult {
    enum Status { ok, already_joined, room_full, unavailable };
    Status status = unavailable;
    size_t max_peers = 0;
    bool created = false;               // this join created the room
    rtc::Room room;                     // the room without members: kind, cap, metadata, created_at
    rtc::Member self;                   // as stored (publisher flag, node)
    std::vector<rtc::Member> contacts;  // the members it sees, in join order (see rtc::Room::contacts)
  };
  struct LeaveResult {
    bool left = false;      // it was a member
    bool finished = false;  // the room was removed (it became empty)
    rtc::Room room;         // the room without members, as it was
    rtc::Member member;     // as stored
  };
  using JoinDone = std::function<void(JoinResult)>;
  using LeaveDone = std::function<void(const RoomId&, const LeaveResult&, std::string_view reason)>;

  Cluster(ClusterOptions options, LocalBus& bus);
  ~Cluster() override;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Every leave that removed a member, also those of lost nodes reaped here
  // (for webhooks). Called on the cluster's loop. Set before start().
  void on_left(LeaveDone fn) { on_left_ = std::move(fn); }

  // Hands this node's sessions over to nodes that resume them. Set before start().
  void on_handoff(HandoffFn fn) { on_handoff_ = std::move(fn); }

  // Starts the thread, the connections and the heartbeats.
  void start();
  // Stops heartbeating and leaves the registry (when Redis is reachable);
  // then stops the thread. Idempotent.
  void stop();

  // Redis reachable, this node registered and subscribed, and (after an
  // outage) its members put back. Any thread.
  bool ready() const { return ready_.load(std::memory_order_relaxed); }
  const std::string& node_id() const { return options_.node_id; }
  // The last Redis round trip (a heartbeat), in microseconds; 0 before the first.
  uint64_t redis_rtt_us() const { return rtt_us_.load(std::memory_order_relaxed); }
  // Live nodes seen at the last heartbeat (this one included once registered).
  size_t node_count() const { return nodes_.load(std::memory_order_relaxed); }
  // Membership scripts run and relays published since start (for metrics and benchmarks).
  uint64_t redis_commands() const { return commands_.load(std::memory_order_relaxed); }

  // Adds `req.member` to the room in Redis (cap and duplicate checks) and
  // completes once this node's mirror has the join: `done` gets the room and
  // the members the joiner sees. `unavailable` when Redis cannot be reached.
  // Cost: one script (a Redis round trip); the first member of a room on this
  // node also waits for the subscription and reads the room once.
  void join(JoinRequest req, JoinDone done);
  // Removes `peer` from `room` (peer-left with `reason` to the others). Never fails
  // for the caller: when Redis is unreachable the change is made when it is back.
  void leave(RoomId room, PeerId peer, std::string reason);
  // Replaces the metadata of this node's member `peer` (peer-updated to the others).
  void update(RoomId room, PeerId peer, std::string metadata);

  // --- Sessions (resume on any node; only when options.log_messages > 0)
  // Registers a resumable session held here. Any thread. One script.
  void session_started(SessionRecord r);
  // Forgets a session that ended for good (unless another node holds it by now). Any thread.
  void session_ended(const SessionId& session, const PeerId& peer);
  // ReplayLog: stores frame `seq` of `peer` (RPUSH; LTRIM every 64 frames). Any
  // shard thread; posted, pipelined, never waited for.
  void append(const PeerId& peer, uint64_t seq, const Body& body) override;
  // Takes over a session held by another node (alive or not) for a client
  // that came back here: checks `user` and `secret` against the record, makes
  // the holder let go (or takes it when the holder is gone), and returns the
  // stored frames, the rooms and what arrived meanwhile. The session's
  // memberships then name this node. `done` runs on the cluster's loop;
  // frames for the peer that arrive after it are delivered through the
  // LocalBus, so `done` must post the session's installation to its loop at
  // once (then it runs before anything posted there later).
  // The session's loop here is the one its peer id names (routing::shard_of).
  void take_session(SessionId session, UserId user, std::string secret, TakeDone done);
  // Sends the answers to held relays (Taken::Held::answer, verdicts filled in)
  // once every frame stamped before this call is stored in Redis, so an ack
  // never promises a frame a dying node could still lose. Any thread.
  void answer_held(std::vector<Answer> answers);
  // The answers owed for held relays that will not be delivered (`unavailable`).
  static std::vector<Answer> refused(std::vector<Taken::Held>& held);

  // --- Operators (the admin API, whichever node is asked; routing/cluster_admin.cpp)
  // Each reads or changes the rooms in Redis, wherever their members are held;
  // the nodes holding members tell them (kicked, room-closed, peer-left, the
  // message) as for any membership change. Any thread; `done` runs on the
  // cluster's loop, with `unavailable` when Redis cannot be reached.
  struct AdminReply {
    enum Status { ok, no_room, no_peer, exists, unavailable };
    Status status = unavailable;
    struct RoomSummary {
      rtc::Room room;  // without members
      size_t peers = 0;
    };
    std::vector<RoomSummary> rooms;    // admin_rooms: every room; room, create, set: the one
    std::vector<rtc::Member> members;  // admin_peers: in join order; close: those removed; kick: the one
    bool finished = false;             // kick: the room went with its last member
    size_t recipients = 0;             // send
  };
  using AdminDone = std::function<void(AdminReply)>;
  // Every room. One script, O(rooms).
  void admin_rooms(AdminDone done);
  // One room; with `metadata`, replaces its metadata first.
  void admin_room(RoomId room, std::optional<std::string> metadata, AdminDone done);
  // Its members in join order.
  void admin_peers(RoomId room, AdminDone done);
  // A persistent room made ahead of its peers (`exists` when the name is taken).
  void admin_create(RoomId room, rtc::RoomConfig cfg, int64_t now, AdminDone done);
  // `peer` leaves `room` with reason "kicked"; its node tells it `kicked {room, reason}`.
  void admin_kick(RoomId room, PeerId peer, std::string reason, AdminDone done);
  // Every member leaves (each gets room-closed, nobody peer-left) and the room goes.
  void admin_close(RoomId room, AdminDone done);
  // `frame` (a relay frame from "server") to `to`, or to every member of the room.
  void admin_send(RoomId room, std::optional<PeerId> to, Body frame, AdminDone done);
  // Cluster-wide rooms and room memberships, as of the last second. Any thread.
  size_t room_count() const { return rooms_.load(std::memory_order_relaxed); }
  size_t peer_count() const { return peers_.load(std::memory_order_relaxed); }
  // A member held here was removed by an operator on any node (kicked,
  // room-closed): its session must drop the room and get `notice`. Called on
  // the cluster's loop. Set before start().
  using EvictFn = std::function<void(uint32_t home, const PeerId& peer, const RoomId& room, Body notice)>;
  void on_evicted(EvictFn fn) { on_evicted_ = std::move(fn); }

  // RemoteRelay (called by the LocalBus on a shard thread)
  void to_peer(uint32_t origin_shard, const PeerId& from, const PeerId& to, const RoomId& room, Relay frame,
               std::string ack_id) override;
  void to_room(const RoomId& room, const PeerId& except, const Relay& frame) override;
  void barrier(std::function<void()> fn) override;

 private:
  // A session being taken over by this node.
  struct Take {
    SessionRecord record;
    uint32_t home = 0;
    std::string from;           // the node that held it
    std::vector<RoomId> rooms;  // its rooms, as Redis lists them
    bool holding = false;       // past the handover point: frames for it are kept in `held`
    bool taking = false;        // the take script is on its way
    std::vector<Taken::Held> held;
    TakeDone done;
    std::shared_ptr<boost::asio::steady_timer> timer;  // the release timeout
  };
  // A room this node holds members of, or is joining.
  struct Mirror {
    bool ready = false;        // the room has been read; `ver` is meaningful
    bool reading = false;      // a read of the room is under way
    bool subscribed = false;   // Redis confirmed the channel subscription
    bool subscribing = false;  // SUBSCRIBE sent, not yet confirmed
    uint64_t ver = 0;          // the last change applied
    bool persistent = false;
    std::vector<wire::MemberEvent> early;                  // changes published before the room was read
    std::vector<std::function<void(bool)>> on_subscribed;  // false: the subscription failed
    std::vector<std::function<void(bool)>> on_ready;       // ensure_mirror callers; false: failed
    struct Waiter {
      uint64_t ver;
      PeerId peer;
      JoinDone done;
      JoinResult result;
    };
    std::vector<Waiter> waiting;  // joins waiting for the mirror to reach their version
  };
  using Op = std::function<void(std::function<void()> next)>;

  void enqueue(Op op);
  void run_next();
  void do_join(JoinRequest req, JoinDone done, std::function<void()> next);
  void do_leave(const RoomId& room, const PeerId& peer, const std::string& reason,
                std::function<void()> next);
  // Reads the whole room from Redis: the first time, the mirror starts from
  // it; afterwards (after an outage) the differences are told as changes.
  void read_room(const RoomId& room);
  void complete_waiters(const RoomId& room);
  // Runs `fn(true)` once the room's channel is subscribed (at once if it is;
  // subscribes if nobody has asked yet); `fn(false)` when the subscription fails.
  void when_subscribed(const RoomId& room, std::function<void(bool)> fn);
  // Subscribes to and reads `room` if not mirrored yet; `done(true)` once the mirror is ready.
  void ensure_mirror(const RoomId& room, std::function<void(bool)> done);
  // Session handover (routing/cluster_sessions.cpp).
  void on_handover(const wire::Handover& h);
  void request_release(const PeerId& peer);
  void handoff(const PeerId& peer, const std::string& from, const std::string& to,
               std::function<void(bool)> done = {});
  void run_take(const PeerId& peer);
  void finish_take(const PeerId& peer, Taken result);
  // Keeps a frame for a session being taken over, if one is holding for `peer` / for `room`'s members.
  bool hold_for(const PeerId& peer, const RoomId& room, const Relay& frame, bool relay,
                std::optional<Answer> answer = std::nullopt);
  void hold_for_room(const RoomId& room, const PeerId& except, const Relay& frame, bool relay,
                     const PeerId* about = nullptr);
  void put_session(const SessionRecord& r);
  // After this node's subscription was lost and is back: delivers the relays
  // kept in the inboxes of its own sessions meanwhile (the scripts took it for
  // gone). Kept membership events are dropped: the resync tells the changes.
  void take_back_inboxes();
  void reap_sessions(const std::string& node);
  void restore_sessions();
  void deliver_script(uint32_t origin_shard, const PeerId& from, const PeerId& to, wire::PeerRelay p);
  // A room-wide relay to the other nodes: one PUBLISH, or, with resume on, the
  // kRoomSend script, which also keeps it for the members of gone nodes.
  // `nodes`: the other nodes holding members (empty: unknown, every node).
  bool room_send(const RoomId& room, const wire::RoomRelay& b, const std::vector<std::string>& nodes);
  // How much a session's inbox keeps, as the scripts take it: "<messages> <bytes>"; "" with resume off.
  std::string inbox_limit() const {
    if (options_.log_messages == 0) return {};
    return std::to_string(options_.log_messages) + " " + std::to_string(options_.inbox_bytes);
  }
  // A membership event kept in the inbox of `peer` (wire::KeptEvent) as the
  // frame its session would have been sent, if any, into `out.held`.
  void unpack_kept_event(const PeerId& peer, std::string_view entry, Taken& out);
  void on_message(std::string_view channel, std::string_view payload);
  void on_event(const RoomId& room, wire::MemberEvent ev);
  void apply(const RoomId& room, const wire::MemberEvent& ev, bool tell);
  void forget_if_unused(const RoomId& room);
  // Drops `peer` from this node's own members of `room`.
  void forget_own(const RoomId& room, const PeerId& peer);
  // Runs the leave script for `peer` of `room`, held by `node`; false when not
  // sent. `why`, when not empty, goes with the event (a kick's reason).
  bool leave_script(const RoomId& room, std::string_view peer, std::string_view reason, std::string_view node,
                    RedisConnection::Callback cb = {}, std::string_view why = {});
  // An own member removed by someone else's leave event: see on_evicted.
  void evict_own(const RoomId& room, const rtc::Member& m, const wire::MemberEvent& ev);
  // Every second: the cluster-wide counts for room_count / peer_count.
  void count_rooms();
  // Tells on_left_ about a leave script's reply when it removed a member.
  void report_left(const RoomId& room, const RedisReply* r, std::string_view reason);
  void reply(const std::string& node, wire::RelayReply r);
  void on_lost(const std::string& node);
  void reap(const std::string& node, std::function<void()> next);
  void restore();
  void resync();
  void update_ready();
  // Stopping: stops listening on the node channel and the room channels (at
  // once: the scripts keep room frames for this node's parked sessions from
  // then on) and waits until what came through them was handled by the
  // loops, then calls `done`. On ioc_.
  void quiesce(std::function<void()> done);
  void tick();
  bool publish(const std::string& channel, std::string payload,
               std::function<void(const RedisReply*)> cb = {});
  size_t local_members(const RoomId& room) const;

  ClusterOptions options_;
  LocalBus& bus_;
  LeaveDone on_left_;
  EvictFn on_evicted_;
  std::atomic<size_t> rooms_{0};
  std::atomic<size_t> peers_{0};
  unsigned ticks_ = 0;
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::shared_ptr<RedisConnection> cmd_;
  std::shared_ptr<RedisConnection> sub_;
  std::shared_ptr<NodeRegistry> registry_;
  boost::asio::steady_timer tick_;
  boost::asio::steady_timer resync_timer_;
  std::string node_channel_;
  bool node_subscribed_ = false;
  bool was_down_ = false;   // a connection was lost since the last restore
  bool restoring_ = false;  // restore() under way: not ready until Redis has our members back
  std::deque<Op> ops_;
  bool op_running_ = false;
  // Everything below lives on the cluster's loop.
  rtc::RoomDirectory dir_{rtc::RoomLimits{SIZE_MAX, SIZE_MAX}};  // the mirrors' members
  std::unordered_map<RoomId, Mirror> mirrors_;
  // This node's own members: the truth Redis is brought back to after an outage.
  std::unordered_map<RoomId, std::unordered_map<PeerId, rtc::Member>> own_;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> rtt_us_{0};
  std::atomic<uint64_t> commands_{0};
  std::atomic<size_t> nodes_{0};
  std::vector<std::shared_ptr<boost::asio::steady_timer>> lost_timers_;
  // Sessions (resume on any node).
  HandoffFn on_handoff_;
  std::unordered_map<PeerId, SessionRecord> own_sessions_;  // registered resumable sessions held here
  std::unordered_map<PeerId, Take> takes_;
  std::unordered_map<PeerId, uint64_t> appended_;  // frames appended per peer (LTRIM every 64)
  uint64_t log_sent_ = 0;                          // log commands sent, and answered
  uint64_t log_done_ = 0;
  std::deque<std::pair<uint64_t, std::function<void()>>> barriers_;
  // Relays to another node whose sender waits for an answer (ack or error):
  // answered `unavailable` when the answer does not come in time (that node
  // died with the relay). Key: shard, sender, ack id.
  struct Awaited {
    uint32_t shard;
    PeerId from;
    std::string ack_id;
    std::chrono::steady_clock::time_point deadline;
  };
  std::unordered_map<std::string, Awaited> awaited_;
  static std::string awaited_key(uint32_t shard, const PeerId& from, std::string_view ack_id);
  void await_answer(uint32_t shard, const PeerId& from, const std::string& ack_id);
  // True when the answer was still awaited (and now is not).
  bool answered(uint32_t shard, const PeerId& from, std::string_view ack_id);
  void expire_awaited();
  bool stopped_ = false;
};

}  // namespace sb::routing
