// Webhooks: body format, signature, backoff and URL checks (delivery itself is
// tested against a real HTTP receiver in tests/integration/webhooks.test.mjs).
#include "service/webhooks.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sb::service {
namespace {

namespace json = boost::json;

TEST(WebhookSignature, IsHmacSha256InHex) {
  // RFC 4231, test case 2.
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookBody, PeerEventsCarryRoomPeerAndReason) {
  RoomEvent e;
  e.type = RoomEventType::peer_left;
  e.at = 1700000123;
  e.room = RoomId("lobby");
  e.kind = "meeting";
  e.metadata = R"({"t":1})";
  e.room_created_at = 1700000000;
  e.peer = rtc::Member{.peer = PeerId("p1"),
                       .user = UserId("u1"),
                       .name = "Ann \"A\"",
                       .metadata = R"({"m":true})",
                       .joined_at = 1700000100};
  e.reason = "kicked";
  const json::object o = json::parse(webhook_body(e, "abc")).as_object();
  EXPECT_EQ(o.at("id"), "abc");
  EXPECT_EQ(o.at("event"), "peer_left");
  EXPECT_EQ(o.at("created_at"), 1700000123);
  EXPECT_EQ(o.at("room").at("name"), "lobby");
  EXPECT_EQ(o.at("room").at("kind"), "meeting");
  EXPECT_EQ(o.at("room").at("created_at"), 1700000000);
  EXPECT_EQ(o.at("room").at("metadata").at("t"), 1);
  EXPECT_EQ(o.at("peer").at("peer"), "p1");
  EXPECT_EQ(o.at("peer").at("user"), "u1");
  EXPECT_EQ(o.at("peer").at("name"), "Ann \"A\"");
  EXPECT_EQ(o.at("peer").at("metadata").at("m"), true);
  EXPECT_EQ(o.at("peer").at("joined_at"), 1700000100);
  EXPECT_EQ(o.at("reason"), "kicked");
}

TEST(WebhookBody, RoomEventsHaveNoPeer) {
  RoomEvent e;
  e.type = RoomEventType::room_started;
  e.room = RoomId("r");
  const json::object o = json::parse(webhook_body(e, "x")).as_object();
  EXPECT_EQ(o.at("event"), "room_started");
  EXPECT_FALSE(o.contains("peer"));
  EXPECT_FALSE(o.contains("reason"));
  EXPECT_TRUE(o.at("room").at("metadata").as_object().empty());
}

TEST(WebhookBackoff, DoublesFromTheFirstRetryUpToAMinute) {
  using std::chrono::milliseconds;
  EXPECT_EQ(webhook_backoff(500, 2), milliseconds(500));
  EXPECT_EQ(webhook_backoff(500, 3), milliseconds(1000));
  EXPECT_EQ(webhook_backoff(500, 4), milliseconds(2000));
  EXPECT_EQ(webhook_backoff(500, 40), milliseconds(60000));
}

WebhookConfig config(std::vector<std::string> urls) {
  WebhookConfig c;
  c.urls = std::move(urls);
  c.secret = std::string(8, 's');  // not a literal: GCC 12 warns (-Wrestrict) falsely on `= "s"` at -O3
  return c;
}

TEST(Webhooks, RefusesUrlsItCannotPost) {
  WebhookMetrics m;
  for (const char* bad : {"ftp://x/", "not a url", "http:///path", "https://"})
    EXPECT_THROW(Webhooks(config({bad}), m), std::invalid_argument) << bad;
  EXPECT_NO_THROW(Webhooks(config({"http://127.0.0.1:9/hook?x=1", "https://hooks.example.com/x"}), m));
}

TEST(Webhooks, RefusesACaFileItCannotRead) {
  WebhookMetrics m;
  WebhookConfig c = config({"https://127.0.0.1:9/"});
  c.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(Webhooks(c, m), std::invalid_argument);
}

TEST(Webhooks, AFullQueueDropsAndCounts) {
  WebhookMetrics m;
  WebhookConfig cfg = config({"http://127.0.0.1:9/a", "http://127.0.0.1:9/b"});
  cfg.queue = 3;
  Webhooks w(cfg, m);  // not started: nothing leaves the queue
  RoomEvent e;
  e.room = RoomId("r");
  w.publish(e);  // 2 deliveries
  w.publish(e);  // 2 more do not fit in 3
  EXPECT_EQ(w.pending(), 2u);
  EXPECT_EQ(m.enqueued.load(), 2u);
  EXPECT_EQ(m.dropped.load(), 2u);
  EXPECT_EQ(m.queued(), 2u);
}

}  // namespace
}  // namespace sb::service
