// The Hub's protocol semantics, without sockets: sessions are fakes that record
// frames, and two shards' io_contexts are polled by hand to cross loops.
#include "service/hub.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <ctime>
#include <memory>

#include "proto/encode.h"

namespace sb::service {
namespace {

namespace json = boost::json;

class FakeSession final : public Session {
 public:
  explicit FakeSession(uint32_t shard, std::string query_token = {}) : Session(shard) {
    query_token_ = std::move(query_token);
  }
  void deliver(const routing::Body& body) override {
    std::string s = *body;
    proto::close_frame(s, ++seq_);
    frames.push_back(json::parse(s).as_object());
  }
  void close(uint16_t code, std::string_view) override { closed_with = code; }

  // Frames received since the last call.
  std::vector<json::object> take() { return std::exchange(frames, {}); }
  json::object last() const { return frames.empty() ? json::object{} : frames.back(); }

  std::vector<json::object> frames;
  uint16_t closed_with = 0;

 private:
  uint64_t seq_ = 0;
};

const std::string kSecret = "test-secret";

std::string token(const std::string& user, std::vector<std::string> rooms = {"*"}) {
  auth::TokenSpec spec;
  spec.user = UserId(user);
  spec.name = user + "-name";
  spec.grants.rooms = std::move(rooms);
  spec.issued_at = std::time(nullptr);
  spec.expires_at = spec.issued_at + 600;
  return auth::sign_hs256(kSecret, spec);
}

class HubTest : public ::testing::Test {
 protected:
  HubTest()
      : verifier_(auth::VerifierConfig{kSecret, {}, "", "", 30}),
        bus_({{&ioc0_, &t0_}, {&ioc1_, &t1_}}),
        hub_(HubConfig{20, 3, 5, 10, "[]"}, verifier_, bus_) {
    routing::LocalBus::set_current_shard(0);
  }

  void send(FakeSession& s, std::string_view frame) {
    routing::LocalBus::set_current_shard(s.shard());
    proto::ClientMessage m;
    proto::ParseError e;
    if (parser_.parse(frame, m, e))
      hub_.handle(s, m);
    else
      hub_.reject(s, e);
    drain();
  }

  // Runs every posted cross-shard handler, on the right "thread" identity.
  void drain() {
    for (int round = 0; round < 10; ++round) {
      routing::LocalBus::set_current_shard(0);
      size_t n = ioc0_.poll();
      ioc0_.restart();
      routing::LocalBus::set_current_shard(1);
      n += ioc1_.poll();
      ioc1_.restart();
      if (n == 0) break;
    }
  }

  std::unique_ptr<FakeSession> connect(const std::string& user, uint32_t shard = 0,
                                       std::vector<std::string> rooms = {"*"}) {
    auto s = std::make_unique<FakeSession>(shard);
    send(*s, R"({"type":"hello","token":")" + token(user, std::move(rooms)) + "\"}");
    EXPECT_EQ(s->last().at("type"), "welcome");
    s->take();
    return s;
  }

  std::string peer(const FakeSession& s) { return s.peer_id().str(); }

  boost::asio::io_context ioc0_, ioc1_;
  routing::ShardTable t0_, t1_;
  auth::JwtVerifier verifier_;
  routing::LocalBus bus_;
  Hub hub_;
  proto::Parser parser_;
};

TEST_F(HubTest, HelloWelcomesWithIdentity) {
  FakeSession s(0);
  send(s, R"({"type":"hello","id":"h","token":")" + token("alice") + "\"}");
  ASSERT_EQ(s.frames.size(), 1u);
  auto w = s.frames[0];
  EXPECT_EQ(w.at("type"), "welcome");
  EXPECT_EQ(w.at("id"), "h");
  EXPECT_EQ(w.at("user"), "alice");
  EXPECT_EQ(w.at("name"), "alice-name");
  EXPECT_EQ(w.at("seq"), 1);
  EXPECT_EQ(w.at("peer").as_string(), peer(s));
  EXPECT_TRUE(w.at("ice_servers").as_array().empty());
}

TEST_F(HubTest, QueryTokenIsUsedWhenHelloHasNone) {
  FakeSession s(0, token("bob"));
  send(s, R"({"type":"hello"})");
  EXPECT_EQ(s.last().at("type"), "welcome");
  EXPECT_EQ(s.last().at("user"), "bob");
}

TEST_F(HubTest, BadTokenIsUnauthorizedAndCloses4401) {
  FakeSession s(0);
  send(s, R"({"type":"hello","token":"x.y.z"})");
  EXPECT_EQ(s.last().at("code"), "unauthorized");
  EXPECT_EQ(s.closed_with, proto::close_code::unauthorized);
  FakeSession none(0);
  send(none, R"({"type":"hello"})");
  EXPECT_EQ(none.closed_with, proto::close_code::unauthorized);
}

TEST_F(HubTest, NothingButHelloBeforeHello) {
  FakeSession s(0);
  send(s, R"({"type":"join","room":"r","id":1})");
  EXPECT_EQ(s.last().at("code"), "unauthorized");
  EXPECT_EQ(s.last().at("id"), 1);
  EXPECT_EQ(s.closed_with, 0);
}

TEST_F(HubTest, JoinTellsTheOthers) {
  auto a = connect("a"), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r","metadata":{"role":"host"}})");
  EXPECT_TRUE(a->take()[0].at("peers").as_array().empty());
  send(*b, R"({"type":"join","room":"r","id":2})");
  auto joined = b->take();
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].at("id"), 2);
  auto peers = joined[0].at("peers").as_array();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].at("peer").as_string(), peer(*a));
  EXPECT_EQ(peers[0].at("metadata").at("role"), "host");
  auto ev = a->take();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].at("type"), "peer-joined");
  EXPECT_EQ(ev[0].at("peer").as_string(), peer(*b));
  EXPECT_EQ(ev[0].at("user"), "b");
}

TEST_F(HubTest, JoinErrors) {
  auto a = connect("a", 0, {"team-*"});
  send(*a, R"({"type":"join","room":"other"})");
  EXPECT_EQ(a->last().at("code"), "forbidden");
  send(*a, R"({"type":"join","room":"team-1"})");
  send(*a, R"({"type":"join","room":"team-1"})");
  EXPECT_EQ(a->last().at("code"), "already-joined");
  auto b = connect("b"), c = connect("c"), d = connect("d");
  send(*b, R"({"type":"join","room":"team-1"})");
  send(*c, R"({"type":"join","room":"team-1"})");
  send(*d, R"({"type":"join","room":"team-1"})");  // cap is 3 in this fixture
  EXPECT_EQ(d->last().at("code"), "room-full");
}

TEST_F(HubTest, RelayCrossesShardsWithAck) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  a->take();
  b->take();
  send(*a, R"({"type":"offer","room":"r","to":")" + peer(*b) + R"(","id":"o1","data":{"sdp":"x"}})");
  auto got = b->take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("type"), "offer");
  EXPECT_EQ(got[0].at("from").as_string(), peer(*a));
  EXPECT_EQ(got[0].at("data").at("sdp"), "x");
  auto acks = a->take();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].at("type"), "ack");
  EXPECT_EQ(acks[0].at("id"), "o1");
}

TEST_F(HubTest, RelayErrors) {
  auto a = connect("a", 0), b = connect("b", 1), c = connect("c", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  send(*c, R"({"type":"join","room":"elsewhere"})");
  a->take();
  c->take();
  send(*a, R"({"type":"offer","room":"x","to":")" + peer(*b) + R"(","data":1})");
  EXPECT_EQ(a->last().at("code"), "not-in-room");
  send(*a, R"({"type":"offer","room":"r","to":")" + peer(*c) + R"(","data":1,"id":4})");
  EXPECT_EQ(a->last().at("code"), "peer-not-found");
  EXPECT_EQ(a->last().at("id"), 4);
  EXPECT_TRUE(c->take().empty());
  send(*a, R"({"type":"offer","room":"r","to":"nobody","data":1})");
  EXPECT_EQ(a->last().at("code"), "peer-not-found");
  send(*a, R"({"type":"offer","room":"r","to":")" + peer(*a) + R"(","data":1})");
  EXPECT_EQ(a->last().at("code"), "bad-request");
}

TEST_F(HubTest, RoomMessageReachesEveryOtherMemberOnEveryShard) {
  auto a = connect("a", 0), b = connect("b", 1), c = connect("c", 0);
  for (auto* s : {a.get(), b.get(), c.get()}) send(*s, R"({"type":"join","room":"r"})");
  a->take();
  b->take();
  c->take();
  send(*a, R"({"type":"message","room":"r","data":"hi"})");
  EXPECT_TRUE(a->take().empty());  // no echo, no ack without id
  EXPECT_EQ(b->take().at(0).at("data"), "hi");
  EXPECT_EQ(c->take().at(0).at("data"), "hi");
}

TEST_F(HubTest, LeaveUpdateAndDisconnect) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  a->take();
  send(*b, R"({"type":"update","room":"r","id":1,"metadata":{"mic":false}})");
  EXPECT_EQ(b->last().at("type"), "ack");
  EXPECT_EQ(a->take().at(0).at("metadata").at("mic"), false);
  send(*b, R"({"type":"leave","room":"r"})");
  auto left = a->take();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].at("reason"), "left");
  send(*b, R"({"type":"leave","room":"r"})");
  EXPECT_EQ(b->last().at("code"), "not-in-room");
  send(*b, R"({"type":"join","room":"r"})");
  a->take();
  routing::LocalBus::set_current_shard(1);
  hub_.disconnect(*b);
  drain();
  EXPECT_EQ(a->take().at(0).at("reason"), "disconnected");
  routing::LocalBus::set_current_shard(0);
  hub_.disconnect(*a);
  EXPECT_EQ(hub_.room_count(), 0u);
}

TEST_F(HubTest, RepeatedBadRequestsClose4400) {
  auto a = connect("a");
  for (int i = 0; i < 4; ++i) send(*a, "nope");
  EXPECT_EQ(a->closed_with, 0);
  send(*a, "nope");  // the 5th within the window, in this fixture
  EXPECT_EQ(a->closed_with, proto::close_code::bad_request);
}

TEST_F(HubTest, SeqGrowsByOnePerFrame) {
  auto a = connect("a");
  send(*a, R"({"type":"ping"})");
  send(*a, "bad");
  send(*a, R"({"type":"ping","id":1})");
  auto f = a->take();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].at("seq"), 2);  // welcome was 1
  EXPECT_EQ(f[1].at("seq"), 3);
  EXPECT_EQ(f[2].at("seq"), 4);
  EXPECT_EQ(f[2].at("type"), "pong");
}

}  // namespace
}  // namespace sb::service
