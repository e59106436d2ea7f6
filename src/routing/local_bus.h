// routing/local_bus.h — the in-process Bus: one event loop per core.
//
// Each loop ("shard") owns its sessions and a ShardTable naming them; no other
// thread reads that table. A frame for a peer on another shard is posted to
// that shard's io_context and delivered there; a frame for the same shard is
// delivered at once, with no queue. A peer id carries its shard in its last two
// hex digits, so a unicast relay goes straight to the right loop without any
// shared lookup.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "routing/bus.h"

namespace sb::routing {

// The sessions of one shard, by id and by room. Touched only on its shard's thread.
class ShardTable {
 public:
  void add_peer(Endpoint* e) { peers_[e->peer_id()] = e; }
  void remove_peer(const PeerId& id) { peers_.erase(id); }
  Endpoint* find(const PeerId& id) const;

  void add_member(const RoomId& room, Endpoint* e) { rooms_[room].push_back(e); }
  void remove_member(const RoomId& room, Endpoint* e);
  const std::vector<Endpoint*>* members(const RoomId& room) const;

  size_t peer_count() const { return peers_.size(); }

 private:
  std::unordered_map<PeerId, Endpoint*> peers_;
  std::unordered_map<RoomId, std::vector<Endpoint*>> rooms_;
};

// New unguessable peer id living on `shard` (< 256): 18 hex digits, the last
// two the shard. In cluster mode (set_node_tag), digits 13-16 are this node's
// tag, a hint that lets a relay to a peer of another node skip the local lookup.
PeerId make_peer_id(uint32_t shard);
// The shard encoded in `id` (modulo `shard_count`: a session that moved here
// from a node with more loops lives on one of ours), or -1 when `id` is not a
// peer id of this form.
int shard_of(const PeerId& id, uint32_t shard_count);
// Cluster mode: peer ids made from now on carry `tag` (< 65536). Call once, before serving.
void set_node_tag(uint32_t tag);
// Whether `id` may live on this node: always on a single node; in cluster
// mode, when it carries this node's tag. O(1).
bool maybe_local(const PeerId& id);

// Where relays go when the recipient is not on this node (cluster mode).
// Called on the sender's shard thread.
class RemoteRelay {
 public:
  virtual ~RemoteRelay() = default;
  // Like Bus::to_peer for a peer this node does not hold; the answer comes back
  // through LocalBus::reply on `origin_shard`.
  virtual void to_peer(uint32_t origin_shard, const PeerId& from, const PeerId& to, const RoomId& room,
                       Relay frame, std::string ack_id) = 0;
  // The other nodes' share of a room-wide relay (this node's is delivered already).
  virtual void to_room(const RoomId& room, const PeerId& except, const Relay& frame) = 0;
  // Runs `fn` (on another thread) once what this thread handed over before is
  // stored remotely: an ack for a frame delivered here is sent only once the
  // frame is in the recipient's stored log, so a resume elsewhere after this
  // node died still finds every acked frame.
  virtual void barrier(std::function<void()> fn) = 0;
};

class LocalBus final : public Bus {
 public:
  struct Shard {
    boost::asio::io_context* ioc;
    ShardTable* table;
  };
  explicit LocalBus(std::vector<Shard> shards) : shards_(std::move(shards)) {}

  void to_peer(const PeerId& from, const PeerId& to, const RoomId& room, Relay frame,
               std::string ack_id) override;
  void to_room(const RoomId& room, const PeerId& except, Relay frame) override;
  void to_member(uint32_t home, const PeerId& peer, const RoomId& room, Body body) override;

  // The shard whose thread is running now; set by each shard thread at start.
  static void set_current_shard(uint32_t shard);
  static uint32_t current_shard();

  // Runs `f` on `shard`'s thread: now if that is this thread, else posted.
  template <class F>
  void run_on(uint32_t shard, F&& f) {
    if (shard == current_shard())
      f();
    else
      boost::asio::post(*shards_[shard].ioc, std::forward<F>(f));
  }

  // Runs `f` on `shard`'s thread later, never now (also from that thread).
  template <class F>
  void post(uint32_t shard, F&& f) {
    boost::asio::post(*shards_[shard].ioc, std::forward<F>(f));
  }

  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  // Set once before the loops run; may stay null (tests).
  void set_observer(BusObserver* o) { observer_ = o; }
  // Cluster mode: relays for peers not held here go to `r`. Set once before the loops run.
  void set_remote(RemoteRelay* r) { remote_ = r; }
  ShardTable& table(uint32_t shard) { return *shards_[shard].table; }

  // --- Entry points for frames that came from another node (any thread).
  // Delivers `frame` to `to` on its shard if it admits it, then calls
  // `answer` there with the verdict. O(1) plus the post.
  void deliver_here(const PeerId& to, const RoomId& room, Relay frame, std::function<void(Admission)> answer);
  // Delivers a room-wide relay to this node's members of `room` but `except`.
  void to_room_here(const RoomId& room, const PeerId& except, const Relay& frame);
  // Tells sender `from` on `origin` the outcome of its relay: an ack (when
  // `ack_id` is non-empty), peer-not-found, forbidden with `reason`, or
  // unavailable (`verdict` > forbidden: the recipient's node could not be reached).
  void reply(uint32_t origin, const PeerId& from, std::string ack_id, uint8_t verdict, std::string reason);

 private:
  void deliver_local(uint32_t shard, const RoomId& room, const PeerId& except, const Relay& frame);
  std::vector<Shard> shards_;
  BusObserver* observer_ = nullptr;
  RemoteRelay* remote_ = nullptr;
};

}  // namespace sb::routing
