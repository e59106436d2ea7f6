// routing/node_registry.h — which nodes of a cluster are alive.
//
// Each node keeps a key `sb:node:<id>` alive in Redis (SET .. PX ttl, renewed
// every heartbeat) and is listed in the set `sb:nodes`. Every heartbeat it
// also reads the set and the keys back: a listed node whose key expired has
// stopped heartbeating (killed, partitioned, hung). Exactly one survivor at a
// time claims it (SET sb:reap:<id> NX PX claim_ttl decides) and hears
// on_lost(id), so the clean-up of its peers happens once in the cluster; the
// node stays listed until the claimer has cleaned up and calls forget(id). If
// the claimer dies first, its claim expires and another survivor claims the
// node at its next heartbeat.
//
// After a Redis outage the node registers again as soon as the connection is
// back; while Redis is unreachable, ready() is false (/readyz reports it).
//
// Cost: two commands per heartbeat plus one MGET of all node keys; with the
// default 1 s heartbeat, negligible next to relay traffic.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "routing/redis_connection.h"

namespace sb::routing {

struct NodeRegistryOptions {
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds ttl{3000};  // a node is lost this long after its last heartbeat
  std::string info = "{}";              // JSON stored in the node's key (address, start time), for operators
  // How long a claim on a lost node holds: longer than the claimer needs to
  // clean up after it (the owner's grace period plus the clean-up itself).
  std::chrono::milliseconds claim_ttl{30000};
};

class NodeRegistry : public std::enable_shared_from_this<NodeRegistry> {
 public:
  using LostHandler = std::function<void(const std::string& node)>;

  // `redis` is a command connection (not subscribed), started by the caller.
  static std::shared_ptr<NodeRegistry> create(boost::asio::io_context& ioc,
                                              std::shared_ptr<RedisConnection> redis, std::string node_id,
                                              NodeRegistryOptions options = {});

  // Called on this loop, once per lost node in the whole cluster (on the
  // survivor that reaped it).
  void on_lost(LostHandler h) { on_lost_ = std::move(h); }

  void start();
  // The lost `node` is cleaned up: it leaves the set (its claim expires by itself).
  void forget(const std::string& node);
  // Stops heartbeating and, when `leave` and Redis is reachable, deregisters
  // at once (a clean shutdown): others then see the node gone without
  // reaping it.
  void stop(bool leave);

  const std::string& id() const { return id_; }
  // Registered and heartbeating: Redis is reachable and our key is fresh.
  bool ready() const { return ready_; }
  // The live nodes seen at the last heartbeat (this one included once registered).
  const std::set<std::string>& nodes() const { return nodes_; }

 private:
  NodeRegistry(boost::asio::io_context& ioc, std::shared_ptr<RedisConnection> redis, std::string node_id,
               NodeRegistryOptions options);
  void beat();
  void scan();

  std::shared_ptr<RedisConnection> redis_;
  std::string id_;
  NodeRegistryOptions options_;
  boost::asio::steady_timer timer_;
  std::set<std::string> nodes_;
  LostHandler on_lost_;
  bool running_ = false;
  bool ready_ = false;
};

}  // namespace sb::routing
