// NodeRegistry against a real redis-server: three nodes on one loop.
#include "routing/node_registry.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <map>

#include "unit/routing/redis_server.h"

namespace sb::routing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

using testing::run_until;

// Runs the loop for `d`: used only to give an event that must NOT happen a
// chance to happen.
void run_for(asio::io_context& ioc, std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_one_for(10ms);
  }
}

struct Node {
  std::shared_ptr<RedisConnection> redis;
  std::shared_ptr<NodeRegistry> registry;
};

class NodeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    ASSERT_TRUE(server_.ready());
  }

  Node make(const std::string& id) {
    RedisEndpoint e;
    e.unix_path = server_.socket_path();
    RedisOptions ro;
    ro.backoff_min = 20ms;
    ro.backoff_max = 100ms;
    Node n{RedisConnection::create(ioc_, e, ro), nullptr};
    NodeRegistryOptions o;
    o.heartbeat = 50ms;
    o.ttl = 200ms;
    n.registry = NodeRegistry::create(ioc_, n.redis, id, o);
    n.registry->on_lost([this, id](const std::string& lost) { losses_[lost].push_back(id); });
    n.redis->start();
    n.registry->start();
    return n;
  }

  testing::RedisServer server_;
  asio::io_context ioc_;
  std::map<std::string, std::vector<std::string>> losses_;  // lost node -> reapers
};

TEST_F(NodeRegistryTest, NodesSeeEachOtherAndExactlyOneSurvivorReapsALostNode) {
  Node a = make("a"), b = make("b"), c = make("c");
  const std::set<std::string> all{"a", "b", "c"};
  ASSERT_TRUE(run_until(ioc_, [&] {
    return a.registry->nodes() == all && b.registry->nodes() == all && c.registry->nodes() == all;
  }));
  EXPECT_TRUE(a.registry->ready());

  // c stops heartbeating without leaving: it is lost once its key expires.
  c.registry->stop(false);
  const std::set<std::string> ab{"a", "b"};
  ASSERT_TRUE(run_until(
      ioc_, [&] { return !losses_["c"].empty() && a.registry->nodes() == ab && b.registry->nodes() == ab; }));
  run_for(ioc_, 300ms);  // several more heartbeats: no second reaping
  ASSERT_EQ(losses_["c"].size(), 1u);
  EXPECT_TRUE(losses_["c"][0] == "a" || losses_["c"][0] == "b");

  // b leaves cleanly: gone at once, never reaped.
  b.registry->stop(true);
  ASSERT_TRUE(run_until(ioc_, [&] { return a.registry->nodes() == std::set<std::string>{"a"}; }));
  run_for(ioc_, 300ms);
  EXPECT_TRUE(losses_["b"].empty());
}

TEST_F(NodeRegistryTest, ARedisOutageMakesTheNodeNotReadyUntilItIsRegisteredAgain) {
  Node a = make("a");
  ASSERT_TRUE(run_until(ioc_, [&] { return a.registry->ready(); }));
  server_.kill_now();
  ASSERT_TRUE(run_until(ioc_, [&] { return !a.registry->ready(); }));
  server_.start();  // an empty Redis: nothing of the registration survived
  ASSERT_TRUE(server_.ready());
  ASSERT_TRUE(run_until(
      ioc_, [&] { return a.registry->ready() && a.registry->nodes() == std::set<std::string>{"a"}; }));
}

}  // namespace
}  // namespace sb::routing
