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

// New unguessable peer id living on `shard` (< 256).
PeerId make_peer_id(uint32_t shard);
// The shard encoded in `id`, or -1 when `id` is not one of ours.
int shard_of(const PeerId& id, uint32_t shard_count);

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
  ShardTable& table(uint32_t shard) { return *shards_[shard].table; }

 private:
  void deliver_local(uint32_t shard, const RoomId& room, const PeerId& except, const Relay& frame);
  std::vector<Shard> shards_;
  BusObserver* observer_ = nullptr;
};

}  // namespace sb::routing
