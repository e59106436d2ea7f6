// RedisConnection against a real redis-server started by each test.
#include "routing/redis_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <optional>

#include "unit/routing/redis_server.h"

namespace sb::routing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

using testing::run_until;

// As in main.cpp: hiredis writes with write(2), and a write to a Redis that
// was just killed must not kill the test.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

RedisEndpoint endpoint_of(const testing::RedisServer& s) {
  RedisEndpoint e;
  std::string err;
  EXPECT_TRUE(parse_redis_url(s.url(), e, err)) << err;
  return e;
}

RedisOptions fast_options() {
  RedisOptions o;
  o.backoff_min = 20ms;
  o.backoff_max = 200ms;
  return o;
}

TEST(RedisUrl, ParsesTheSupportedForms) {
  RedisEndpoint e;
  std::string err;
  ASSERT_TRUE(parse_redis_url("redis://127.0.0.1:6380", e, err)) << err;
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.db, 0);
  ASSERT_TRUE(parse_redis_url("redis://:s3cret@localhost/2", e, err)) << err;
  EXPECT_EQ(e.host, "localhost");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.password, "s3cret");
  EXPECT_EQ(e.db, 2);
  EXPECT_EQ(e.describe().find("s3cret"), std::string::npos) << "the password never appears in logs";
  ASSERT_TRUE(parse_redis_url("redis://[::1]:7000", e, err)) << err;
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 7000);
  ASSERT_TRUE(parse_redis_url("unix:///run/redis.sock?db=3", e, err)) << err;
  EXPECT_EQ(e.unix_path, "/run/redis.sock");
  EXPECT_EQ(e.db, 3);
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:12x",
                          "redis://h/x", "unix://relative", "redis://[::1"})
    EXPECT_FALSE(parse_redis_url(bad, e, err)) << bad;
}

TEST(RedisConnection, CommandsAreRefusedUntilConnected) {
  asio::io_context ioc;
  RedisEndpoint e;
  e.unix_path = "/nonexistent/redis.sock";
  auto c = RedisConnection::create(ioc, e, fast_options());
  c->start();
  EXPECT_FALSE(c->up());
  EXPECT_FALSE(c->command({"PING"}, [](const RedisReply*) { ADD_FAILURE() << "no callback when refused"; }));
  c->stop();
}

TEST(RedisConnection, SetAndGetAreBinarySafe) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  asio::io_context ioc;
  auto c = RedisConnection::create(ioc, endpoint_of(redis), fast_options());
  c->start();
  ASSERT_TRUE(run_until(ioc, [&] { return c->up(); }));
  const std::string value("a\0b\r\n\xff", 6);
  std::optional<RedisReply> set, get;
  ASSERT_TRUE(c->command({"SET", "k", value}, [&](const RedisReply* r) { set = r ? *r : RedisReply{}; }));
  ASSERT_TRUE(c->command({"GET", "k"}, [&](const RedisReply* r) { get = r ? *r : RedisReply{}; }));
  ASSERT_TRUE(run_until(ioc, [&] { return get.has_value(); }));
  EXPECT_EQ(set->type, RedisReply::Type::status);
  EXPECT_EQ(set->str, "OK");
  EXPECT_EQ(get->type, RedisReply::Type::string);
  EXPECT_EQ(get->str, value);

  std::optional<RedisReply> err, arr;
  c->command({"INCR", "k"}, [&](const RedisReply* r) { err = *r; });
  c->command({"MGET", "k", "missing"}, [&](const RedisReply* r) { arr = *r; });
  ASSERT_TRUE(run_until(ioc, [&] { return arr.has_value(); }));
  EXPECT_TRUE(err->is_error());
  ASSERT_EQ(arr->type, RedisReply::Type::array);
  ASSERT_EQ(arr->elements.size(), 2u);
  EXPECT_EQ(arr->elements[0].str, value);
  EXPECT_EQ(arr->elements[1].type, RedisReply::Type::nil);
}

TEST(RedisConnection, ScriptsAreLoadedOncePerConnectionThenCalledBySha) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  asio::io_context ioc;
  auto c = RedisConnection::create(ioc, endpoint_of(redis), fast_options());
  c->start();
  ASSERT_TRUE(run_until(ioc, [&] { return c->up(); }));
  static constexpr const char* kScript = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
  std::vector<int64_t> got;
  auto add = [&](const char* n) {
    return c->command({"EVAL", kScript, "1", "counter", n}, [&](const RedisReply* r) {
      got.push_back(r && r->type == RedisReply::Type::integer ? r->integer : -1);
    });
  };
  ASSERT_TRUE(add("1"));
  ASSERT_TRUE(add("2"));
  ASSERT_TRUE(run_until(ioc, [&] { return got.size() == 2; }));
  EXPECT_EQ(got, (std::vector<int64_t>{1, 3}));
  std::optional<RedisReply> stats;
  c->command({"INFO", "commandstats"}, [&](const RedisReply* r) { stats = *r; });
  ASSERT_TRUE(run_until(ioc, [&] { return stats.has_value(); }));
  EXPECT_NE(stats->str.find("cmdstat_evalsha:calls=2,"), std::string::npos) << stats->str;
  EXPECT_NE(stats->str.find("cmdstat_script|load:calls=1,"), std::string::npos) << stats->str;
  EXPECT_EQ(stats->str.find("cmdstat_eval:"), std::string::npos) << stats->str;
  // Flushed behind its back: that call fails with NOSCRIPT, the next one (sent after it failed) loads it
  // again.
  bool flushed = false;
  c->command({"SCRIPT", "FLUSH"}, [&](const RedisReply*) { flushed = true; });
  ASSERT_TRUE(run_until(ioc, [&] { return flushed; }));
  ASSERT_TRUE(add("4"));
  ASSERT_TRUE(run_until(ioc, [&] { return got.size() == 3; }));
  ASSERT_TRUE(add("8"));
  ASSERT_TRUE(run_until(ioc, [&] { return got.size() == 4; }));
  EXPECT_EQ(got[2], -1);
  EXPECT_EQ(got[3], 11);
}

TEST(RedisConnection, PubSubDeliversMessagesInOrder) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  asio::io_context ioc;
  auto sub = RedisConnection::create(ioc, endpoint_of(redis), fast_options());
  auto pub = RedisConnection::create(ioc, endpoint_of(redis), fast_options());
  std::vector<std::pair<std::string, std::string>> got;
  sub->on_message([&](std::string_view ch, std::string_view payload) { got.emplace_back(ch, payload); });
  sub->start();
  pub->start();
  ASSERT_TRUE(run_until(ioc, [&] { return sub->up() && pub->up(); }));
  ASSERT_TRUE(sub->subscribe({"node:a", "room:x"}));
  // Wait until Redis reports both subscriptions, then publish.
  int64_t subscribers = 0;
  ASSERT_TRUE(run_until(ioc, [&] {
    if (subscribers == 2) return true;
    pub->command({"PUBSUB", "NUMSUB", "node:a"}, [&](const RedisReply* r) {
      if (r && r->elements.size() == 2 && r->elements[1].integer == 1)
        subscribers = std::max<int64_t>(subscribers, 1);
    });
    pub->command({"PUBSUB", "NUMSUB", "room:x"}, [&](const RedisReply* r) {
      if (r && r->elements.size() == 2 && r->elements[1].integer == 1 && subscribers == 1) subscribers = 2;
    });
    return false;
  }));
  for (int i = 0; i < 100; ++i) pub->command({"PUBLISH", i % 2 ? "node:a" : "room:x", std::to_string(i)});
  pub->command({"PUBLISH", "other", "never"});
  ASSERT_TRUE(run_until(ioc, [&] { return got.size() >= 100; }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(got[i].first, i % 2 ? "node:a" : "room:x");
    EXPECT_EQ(got[i].second, std::to_string(i));
  }
}

// What a stopping node relies on: the UNSUBSCRIBE confirmation comes after
// every message published before it, and nothing comes after it.
TEST(RedisConnection, UnsubscribeIsConfirmedAfterEveryEarlierMessage) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  asio::io_context ioc;
  auto sub = RedisConnection::create(ioc, endpoint_of(redis), fast_options());
  auto pub = RedisConnection::create(ioc, endpoint_of(redis), fast_options());
  std::vector<std::string> events;
  bool subscribed = false;
  sub->on_message([&](std::string_view, std::string_view payload) { events.emplace_back(payload); });
  sub->on_subscribed([&](std::string_view ch, std::string_view) { subscribed = ch == "node:a"; });
  sub->on_unsubscribed(
      [&](std::string_view ch, std::string_view) { events.push_back("unsubscribed " + std::string(ch)); });
  sub->start();
  pub->start();
  ASSERT_TRUE(run_until(ioc, [&] { return sub->up() && pub->up(); }));
  ASSERT_TRUE(sub->subscribe({"node:a"}));
  ASSERT_TRUE(run_until(ioc, [&] { return subscribed; }));
  // Published, and only then (after Redis answered) unsubscribed: the messages are on their way to `sub`.
  int64_t listeners = -1;
  for (int i = 0; i < 50; ++i) pub->command({"PUBLISH", "node:a", std::to_string(i)});
  pub->command({"PING"}, [&](const RedisReply*) { ASSERT_TRUE(sub->unsubscribe({"node:a"})); });
  ASSERT_TRUE(run_until(ioc, [&] { return !events.empty() && events.back() == "unsubscribed node:a"; }));
  pub->command({"PUBLISH", "node:a", "late"}, [&](const RedisReply* r) { listeners = r ? r->integer : -2; });
  ASSERT_TRUE(run_until(ioc, [&] { return listeners != -1; }));
  EXPECT_EQ(listeners, 0);
  ASSERT_EQ(events.size(), 51u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(events[i], std::to_string(i));
}

TEST(RedisConnection, ReconnectsAfterTheServerComesBack) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  asio::io_context ioc;
  auto c = RedisConnection::create(ioc, endpoint_of(redis), fast_options());
  std::vector<bool> states;
  c->on_state([&](bool up) { states.push_back(up); });
  c->start();
  ASSERT_TRUE(run_until(ioc, [&] { return c->up(); }));

  // A command in flight when Redis dies gets nullptr, and the owner hears `down`.
  bool lost = false;
  ASSERT_TRUE(c->command({"DEBUG", "SLEEP", "0.2"}, [&](const RedisReply* r) { lost = (r == nullptr); }));
  redis.kill_now();
  ASSERT_TRUE(run_until(ioc, [&] { return !c->up(); }));
  EXPECT_TRUE(lost);
  EXPECT_FALSE(c->command({"PING"}));

  redis.start();
  ASSERT_TRUE(redis.ready());
  ASSERT_TRUE(run_until(ioc, [&] { return c->up(); }));
  std::optional<RedisReply> pong;
  c->command({"PING"}, [&](const RedisReply* r) { pong = r ? *r : RedisReply{}; });
  ASSERT_TRUE(run_until(ioc, [&] { return pong.has_value(); }));
  EXPECT_EQ(pong->str, "PONG");
  EXPECT_EQ(states, (std::vector<bool>{true, false, true}));
}

TEST(RedisConnection, AStuckServerTimesOutAndTheConnectionIsRebuilt) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  asio::io_context ioc;
  RedisOptions o = fast_options();
  o.command_timeout = 100ms;
  auto c = RedisConnection::create(ioc, endpoint_of(redis), o);
  int ups = 0;
  c->on_state([&](bool up) { ups += up ? 1 : 0; });
  c->start();
  ASSERT_TRUE(run_until(ioc, [&] { return c->up(); }));
  std::optional<bool> timed_out;
  ASSERT_TRUE(c->command({"DEBUG", "SLEEP", "1"}, [&](const RedisReply* r) { timed_out = (r == nullptr); }));
  ASSERT_TRUE(run_until(ioc, [&] { return timed_out.has_value(); }));
  EXPECT_TRUE(*timed_out);
  ASSERT_TRUE(run_until(ioc, [&] { return ups == 2 && c->up(); }));  // back, once Redis answers again
}

TEST(RedisConnection, AuthenticatesAndSelectsTheDatabase) {
  testing::RedisServer redis({"--requirepass", "pw"});
  ASSERT_TRUE(redis.ready());
  asio::io_context ioc;
  RedisEndpoint e = endpoint_of(redis);
  e.password = "pw";
  e.db = 2;
  auto c = RedisConnection::create(ioc, e, fast_options());
  c->start();
  ASSERT_TRUE(run_until(ioc, [&] { return c->up(); }));
  std::optional<RedisReply> db;
  c->command({"CLIENT", "INFO"}, [&](const RedisReply* r) { db = r ? *r : RedisReply{}; });
  ASSERT_TRUE(run_until(ioc, [&] { return db.has_value(); }));
  EXPECT_NE(db->str.find(" db=2 "), std::string::npos) << db->str;

  // A wrong password never reaches `up`.
  e.password = "wrong";
  auto bad = RedisConnection::create(ioc, e, fast_options());
  bad->start();
  EXPECT_FALSE(run_until(
      ioc, [&] { return bad->up(); }, 300ms));
}

}  // namespace
}  // namespace sb::routing
