// The Hub's protocol semantics, without sockets: sessions are fakes that record
// frames, and two shards' io_contexts are polled by hand to cross loops.
#include "service/hub.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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
    set_query_token(std::move(query_token));
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

// Records the room events the Hub publishes, as "event room [peer-user] [reason]".
class RecordingSink final : public RoomEventSink {
 public:
  void publish(RoomEvent e) override {
    std::string line = std::string(to_string(e.type)) + " " + e.room.string();
    if (e.peer) line += " " + e.peer->user.string();
    if (!e.reason.empty()) line += " " + e.reason;
    lines.push_back(line);
  }
  std::vector<std::string> take() { return std::exchange(lines, {}); }
  std::vector<std::string> lines;
};

std::string token(const std::string& user, std::vector<std::string> rooms = {"*"}) {
  auth::TokenSpec spec;
  spec.user = UserId(user);
  spec.name = user + "-name";
  spec.grants.rooms = std::move(rooms);
  spec.issued_at = std::time(nullptr);
  spec.expires_at = spec.issued_at + 600;
  return auth::sign_hs256(kSecret, spec);
}

std::string b64url(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    for (int k = 18; k >= 6; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  return out;
}

// An HS256 token for `user` with every room and `extra` claims merged in
// (`grants` replaces the default grants; e.g. {"room_config": {...}}).
std::string token_with(const std::string& user, json::object extra) {
  json::object claims{{"sub", user},
                      {"iat", std::time(nullptr)},
                      {"exp", std::time(nullptr) + 600},
                      {"grants", json::object{{"rooms", json::array{"*"}}}}};
  for (auto& [k, v] : extra) claims[k] = v;
  const std::string input = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url(json::serialize(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac), len));
}

class HubTest : public ::testing::Test {
 protected:
  HubTest()
      : verifier_(auth::VerifierConfig{kSecret, {}, "", "", 30}),
        bus_({{&ioc0_, &t0_}, {&ioc1_, &t1_}}),
        metrics_(2),
        hub_(HubConfig{20,
                       3,
                       5,
                       10,
                       {},
                       30,
                       16,
                       4,  // broadcast cap: separate from the meeting cap (3)
                       {{"named-live", "broadcast", 0}, {"named-*", "meeting", 2}}},
             verifier_, bus_, metrics_, &events_) {
    routing::LocalBus::set_current_shard(0);
    bus_.set_observer(&metrics_);
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

  // Connects with a token made by token_with(user, extra).
  std::unique_ptr<FakeSession> connect_with(const std::string& user, json::object extra, uint32_t shard = 0) {
    auto s = std::make_unique<FakeSession>(shard);
    send(*s, R"({"type":"hello","token":")" + token_with(user, std::move(extra)) + "\"}");
    EXPECT_EQ(s->last().at("type"), "welcome") << json::serialize(s->last());
    s->take();
    return s;
  }

  // Sends `frame` and returns the one frame it got back.
  json::object reply(FakeSession& s, std::string_view frame) {
    s.take();
    send(s, frame);
    auto got = s.take();
    EXPECT_EQ(got.size(), 1u) << frame;
    return got.empty() ? json::object{} : got.back();
  }

  std::string peer(const FakeSession& s) { return s.peer_id().string(); }

  boost::asio::io_context ioc0_, ioc1_;
  routing::ShardTable t0_, t1_;
  auth::JwtVerifier verifier_;
  routing::LocalBus bus_;
  Metrics metrics_;
  RecordingSink events_;
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
  const std::string t = token("bob");
  FakeSession s(0, t);
  EXPECT_EQ(s.query_token(), t);
  send(s, R"({"type":"hello"})");
  EXPECT_EQ(s.last().at("type"), "welcome");
  EXPECT_EQ(s.last().at("user"), "bob");
  EXPECT_TRUE(s.query_token().empty()) << "the token from the URL is kept no longer than hello";
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

// --- operators (RoomAdmin) and events ---------------------------------------

TEST_F(HubTest, CloseRoomTellsEveryPeerAndNobodyElseHearsMore) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  a->take();
  b->take();
  events_.take();
  routing::LocalBus::set_current_shard(0);
  EXPECT_EQ(hub_.close_room(RoomId("r")), AdminStatus::ok);
  drain();
  for (auto* s : {a.get(), b.get()}) {
    auto f = s->take();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].at("type"), "room-closed");
    EXPECT_EQ(f[0].at("room"), "r");
    EXPECT_FALSE(s->in_room(RoomId("r")));
  }
  EXPECT_EQ(hub_.room_count(), 0u);
  EXPECT_EQ(hub_.peer_count(), 0u);
  EXPECT_EQ(events_.take(),
            (std::vector<std::string>{"peer_left r a room-closed", "peer_left r b room-closed",
                                      "room_finished r closed"}));
  // Their sessions no longer hold the room: a relay is not-in-room, a new join makes a fresh room.
  send(*a, R"({"type":"message","room":"r","data":1})");
  EXPECT_EQ(a->last().at("code"), "not-in-room");
  send(*a, R"({"type":"join","room":"r"})");
  EXPECT_EQ(a->last().at("type"), "joined");
  EXPECT_TRUE(a->last().at("peers").as_array().empty());
  EXPECT_TRUE(b->take().empty());
  EXPECT_EQ(hub_.close_room(RoomId("nope")), AdminStatus::no_room);
}

TEST_F(HubTest, KickTellsThePeerAndTheOthersSeeKicked) {
  auto a = connect("a", 0), b = connect("b", 1), c = connect("c", 1);
  for (auto* s : {a.get(), b.get(), c.get()}) send(*s, R"({"type":"join","room":"r"})");
  a->take();
  b->take();
  c->take();
  events_.take();
  routing::LocalBus::set_current_shard(0);
  EXPECT_EQ(hub_.kick(RoomId("r"), PeerId(peer(*b)), "spam"), AdminStatus::ok);
  drain();
  auto fb = b->take();
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fb[0].at("type"), "kicked");
  EXPECT_EQ(fb[0].at("room"), "r");
  EXPECT_EQ(fb[0].at("reason"), "spam");
  for (auto* s : {a.get(), c.get()}) {
    auto f = s->take();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].at("type"), "peer-left");
    EXPECT_EQ(f[0].at("peer").as_string(), peer(*b));
    EXPECT_EQ(f[0].at("reason"), "kicked");
  }
  EXPECT_FALSE(b->in_room(RoomId("r")));
  EXPECT_EQ(hub_.peers(RoomId("r"))->size(), 2u);
  EXPECT_EQ(events_.take(), std::vector<std::string>{"peer_left r b kicked"});
  EXPECT_EQ(hub_.kick(RoomId("r"), PeerId(peer(*b)), "again"), AdminStatus::no_peer);
  EXPECT_EQ(hub_.kick(RoomId("x"), PeerId(peer(*a)), "x"), AdminStatus::no_room);
  // The kicked peer's relays into the room are refused; the others' no longer reach it.
  send(*b, R"({"type":"message","room":"r","data":1})");
  EXPECT_EQ(b->last().at("code"), "not-in-room");
  b->take();
  send(*a, R"({"type":"message","room":"r","data":2})");
  EXPECT_TRUE(b->take().empty());
  EXPECT_EQ(c->take().at(0).at("data"), 2);
}

TEST_F(HubTest, AnEvictionNoticeDoesNotUndoALaterJoin) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  a->take();
  b->take();
  // The operator kicks b from shard 0; before b's loop runs the notice, b
  // leaves and joins again (a new membership that must stand).
  routing::LocalBus::set_current_shard(0);
  EXPECT_EQ(hub_.kick(RoomId("r"), PeerId(peer(*b)), "x"), AdminStatus::ok);
  routing::LocalBus::set_current_shard(1);
  proto::ClientMessage m;
  proto::ParseError e;
  ASSERT_TRUE(parser_.parse(R"({"type":"leave","room":"r","id":1})", m, e));
  hub_.handle(*b, m);
  EXPECT_EQ(b->last().at("type"), "ack");
  ASSERT_TRUE(parser_.parse(R"({"type":"join","room":"r","id":2})", m, e));
  hub_.handle(*b, m);
  EXPECT_EQ(b->last().at("type"), "joined");
  drain();  // now the notice arrives
  EXPECT_TRUE(b->in_room(RoomId("r")));
  EXPECT_EQ(hub_.peers(RoomId("r"))->size(), 2u);
  for (const auto& f : b->take()) EXPECT_NE(f.at("type"), "kicked");
}

TEST_F(HubTest, DisconnectWhileAnEvictionIsInFlightTerminates) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*a, R"({"type":"join","room":"q"})");
  send(*b, R"({"type":"join","room":"r"})");
  routing::LocalBus::set_current_shard(1);
  EXPECT_EQ(hub_.close_room(RoomId("r")), AdminStatus::ok);  // a's notice is posted to shard 0
  routing::LocalBus::set_current_shard(0);
  hub_.disconnect(*a);  // a still lists r: must not spin, must leave q
  EXPECT_TRUE(a->rooms().empty());
  drain();
  EXPECT_EQ(hub_.room_count(), 0u);
}

TEST_F(HubTest, ServerMessagesGoToOnePeerOrTheWholeRoom) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  a->take();
  b->take();
  routing::LocalBus::set_current_shard(0);
  size_t n = 0;
  EXPECT_EQ(hub_.send(RoomId("r"), std::nullopt, R"({"hello":true})", n), AdminStatus::ok);
  EXPECT_EQ(n, 2u);
  drain();
  for (auto* s : {a.get(), b.get()}) {
    auto f = s->take();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].at("type"), "message");
    EXPECT_EQ(f[0].at("from"), "server");
    EXPECT_EQ(f[0].at("data").at("hello"), true);
  }
  EXPECT_EQ(hub_.send(RoomId("r"), PeerId(peer(*b)), "1", n), AdminStatus::ok);
  EXPECT_EQ(n, 1u);
  drain();
  EXPECT_TRUE(a->take().empty());
  EXPECT_EQ(b->take().at(0).at("data"), 1);
  EXPECT_EQ(hub_.send(RoomId("r"), PeerId("nobody"), "1", n), AdminStatus::no_peer);
  EXPECT_EQ(hub_.send(RoomId("x"), std::nullopt, "1", n), AdminStatus::no_room);
}

TEST_F(HubTest, PreCreatedRoomsKeepTheirConfigAndOutliveTheirPeers) {
  RoomInfo info;
  rtc::RoomConfig cfg;
  cfg.max_peers = 1;
  cfg.metadata = R"({"topic":"t"})";
  EXPECT_EQ(hub_.create_room(RoomId("p"), cfg, info), AdminStatus::ok);
  EXPECT_EQ(info.name, "p");
  EXPECT_EQ(info.max_peers, 1u);
  EXPECT_TRUE(info.persistent);
  EXPECT_EQ(hub_.create_room(RoomId("p"), cfg, info), AdminStatus::exists);
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"p"})");
  EXPECT_EQ(a->last().at("type"), "joined");
  send(*b, R"({"type":"join","room":"p"})");
  EXPECT_EQ(b->last().at("code"), "room-full");
  send(*a, R"({"type":"leave","room":"p"})");
  ASSERT_TRUE(hub_.room(RoomId("p")).has_value());
  EXPECT_EQ(hub_.room(RoomId("p"))->peers, 0u);
  EXPECT_EQ(hub_.set_room_metadata(RoomId("p"), R"({"x":2})", info), AdminStatus::ok);
  EXPECT_EQ(info.metadata, R"({"x":2})");
  EXPECT_EQ(hub_.set_room_metadata(RoomId("nope"), "{}", info), AdminStatus::no_room);
  EXPECT_EQ(events_.take(),
            (std::vector<std::string>{"room_started p", "peer_joined p a", "peer_left p a left"}));
}

TEST_F(HubTest, EventsFollowTheRoomLifecycle) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  send(*a, R"({"type":"leave","room":"r"})");
  routing::LocalBus::set_current_shard(1);
  hub_.disconnect(*b);
  EXPECT_EQ(events_.take(), (std::vector<std::string>{"room_started r", "peer_joined r a", "peer_joined r b",
                                                      "peer_left r a left", "peer_left r b disconnected",
                                                      "room_finished r empty"}));
}

TEST_F(HubTest, CountsMessagesErrorsAndAuthFailuresOnTheShardWhereTheyHappen) {
  auto a = connect("a", 0), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  send(*a, R"({"type":"offer","room":"r","to":")" + peer(*b) + R"(","data":{}})");
  send(*a, R"({"type":"message","room":"r","data":1})");
  send(*a, R"({"type":"message","room":"r","to":"00000000000000000000","data":1})");
  const auto offer = static_cast<size_t>(proto::MsgType::offer);
  const auto message = static_cast<size_t>(proto::MsgType::message);
  EXPECT_EQ(metrics_.shard(0).relayed[offer].get(), 1u);
  EXPECT_EQ(metrics_.shard(0).relayed[message].get(), 2u);
  EXPECT_EQ(metrics_.shard(1).delivered[offer].get(), 1u) << "counted where the recipient lives";
  EXPECT_EQ(metrics_.shard(1).delivered[message].get(), 1u);
  EXPECT_EQ(metrics_.shard(0).delivered[message].get(), 0u);
  EXPECT_EQ(metrics_.shard(1).relay_latency.count(), 2u);
  EXPECT_EQ(metrics_.shard(0).errors[static_cast<size_t>(proto::ErrorCode::peer_not_found)].get(), 1u);
  FakeSession bad(1);
  send(bad, R"({"type":"hello","token":"x.y.z"})");
  FakeSession none(1);
  send(none, R"({"type":"hello"})");
  EXPECT_EQ(metrics_.shard(1).auth_failures[static_cast<size_t>(auth::TokenError::malformed)].get(), 1u);
  EXPECT_EQ(metrics_.shard(1).auth_failures[static_cast<size_t>(auth::TokenError::none)].get(), 1u);
  EXPECT_EQ(metrics_.shard(1).errors[static_cast<size_t>(proto::ErrorCode::unauthorized)].get(), 2u);
  EXPECT_EQ(metrics_.shard(0).sessions_started.get() + metrics_.shard(1).sessions_started.get(), 2u);
}

// --- grants and room kinds --------------------------------------------------

json::object grants(json::object g) {
  g["rooms"] = json::array{"*"};
  return json::object{{"grants", std::move(g)}};
}

json::object broadcast_config() {
  return json::object{{"kind", "broadcast"}};
}

TEST_F(HubTest, JoinOutsideTheRoomsGrantNamesTheGrant) {
  auto a = connect("a", 0, {"team-*"});
  auto r = reply(*a, R"({"type":"join","room":"other","id":"j"})");
  EXPECT_EQ(r.at("code"), "forbidden");
  EXPECT_EQ(r.at("id"), "j");
  EXPECT_TRUE(r.at("message").as_string().starts_with("missing grant: rooms")) << r.at("message");
  auto none = connect_with("n", json::object{{"grants", json::object{}}});
  EXPECT_EQ(reply(*none, R"({"type":"join","room":"x"})").at("code"), "forbidden") << "no rooms by default";
}

TEST_F(HubTest, WithoutPublishAnOfferIsForbiddenButAnswersAndCandidatesPass) {
  auto a = connect_with("a", grants({{"publish", false}})), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  b->take();
  auto r = reply(*a, R"({"type":"offer","room":"r","to":")" + peer(*b) + R"(","data":{},"id":7})");
  EXPECT_EQ(r.at("code"), "forbidden");
  EXPECT_EQ(r.at("id"), 7);
  EXPECT_EQ(r.at("message"), "missing grant: publish");
  EXPECT_TRUE(b->take().empty());
  for (const char* type : {"answer", "ice-candidate", "message"}) {
    EXPECT_EQ(reply(*a, std::string(R"({"type":")") + type + R"(","room":"r","to":")" + peer(*b) +
                            R"(","data":{},"id":1})")
                  .at("type"),
              "ack")
        << type;
    EXPECT_EQ(b->take().at(0).at("type"), type);
  }
}

TEST_F(HubTest, WithoutSubscribeNoOfferReachesThePeerAndTheSenderIsTold) {
  auto a = connect("a", 0), b = connect_with("b", grants({{"subscribe", false}}), 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  a->take();
  b->take();
  auto r = reply(*a, R"({"type":"offer","room":"r","to":")" + peer(*b) + R"(","data":{},"id":"o"})");
  EXPECT_EQ(r.at("code"), "forbidden");
  EXPECT_EQ(r.at("id"), "o");
  EXPECT_EQ(r.at("message"), "recipient is missing grant: subscribe");
  EXPECT_TRUE(b->take().empty());
  EXPECT_EQ(metrics_.shard(0).errors[static_cast<size_t>(proto::ErrorCode::forbidden)].get(), 1u);
  // b may still offer (it publishes), and receive everything but offers
  EXPECT_EQ(
      reply(*b, R"({"type":"offer","room":"r","to":")" + peer(*a) + R"(","data":{},"id":1})").at("type"),
      "ack");
  EXPECT_EQ(
      reply(*a, R"({"type":"answer","room":"r","to":")" + peer(*b) + R"(","data":{},"id":2})").at("type"),
      "ack");
  EXPECT_EQ(b->take().at(0).at("type"), "answer");
}

TEST_F(HubTest, WithoutDataNoMessageOfAnyKind) {
  auto a = connect_with("a", grants({{"data", false}})), b = connect("b", 1);
  send(*a, R"({"type":"join","room":"r"})");
  send(*b, R"({"type":"join","room":"r"})");
  b->take();
  for (std::string to : {std::string(), R"(,"to":")" + peer(*b) + "\""}) {
    auto r = reply(*a, R"({"type":"message","room":"r","data":1,"id":3)" + to + "}");
    EXPECT_EQ(r.at("code"), "forbidden");
    EXPECT_EQ(r.at("id"), 3);
    EXPECT_EQ(r.at("message"), "missing grant: data");
  }
  EXPECT_TRUE(b->take().empty());
  EXPECT_EQ(
      reply(*a, R"({"type":"offer","room":"r","to":")" + peer(*b) + R"(","data":{},"id":1})").at("type"),
      "ack");
}

TEST_F(HubTest, MeetingRoomsSayTheirKindAndCarryNoPublisherFlag) {
  auto a = connect("a");
  auto j = reply(*a, R"({"type":"join","room":"r"})");
  EXPECT_EQ(j.at("kind"), "meeting");
  EXPECT_FALSE(j.contains("publisher"));
}

TEST_F(HubTest, BroadcastViewersSeeOnlyPublishersAndPublishersSeeEveryone) {
  auto p = connect_with("p", json::object{{"room_config", broadcast_config()}}, 0);
  auto j = reply(*p, R"({"type":"join","room":"show"})");
  EXPECT_EQ(j.at("kind"), "broadcast");
  EXPECT_EQ(j.at("publisher"), true);
  auto v1 = connect_with("v1", grants({{"publish", false}}), 1);
  auto v2 = connect_with("v2", grants({{"publish", false}}), 0);
  j = reply(*v1, R"({"type":"join","room":"show"})");
  EXPECT_EQ(j.at("kind"), "broadcast");
  EXPECT_EQ(j.at("publisher"), false);
  ASSERT_EQ(j.at("peers").as_array().size(), 1u);
  EXPECT_EQ(j.at("peers").at(0).at("peer").as_string(), peer(*p));
  EXPECT_EQ(j.at("peers").at(0).at("publisher"), true);
  auto ev = p->take();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].at("type"), "peer-joined");
  EXPECT_EQ(ev[0].at("publisher"), false);
  j = reply(*v2, R"({"type":"join","room":"show"})");
  EXPECT_EQ(j.at("peers").as_array().size(), 1u) << "v1 is not listed to v2";
  EXPECT_TRUE(v1->take().empty()) << "no peer-joined between viewers";
  EXPECT_EQ(p->take().size(), 1u);

  // a viewer's update and leave reach only the publishers
  send(*v1, R"({"type":"update","room":"show","metadata":{"hand":true},"id":"u"})");
  EXPECT_EQ(v1->take().at(0).at("type"), "ack");
  EXPECT_EQ(p->take().at(0).at("type"), "peer-updated");
  EXPECT_TRUE(v2->take().empty());

  // signalling: publisher <-> viewer yes, viewer <-> viewer no
  EXPECT_EQ(
      reply(*p, R"({"type":"offer","room":"show","to":")" + peer(*v1) + R"(","data":{},"id":1})").at("type"),
      "ack");
  EXPECT_EQ(v1->take().at(0).at("type"), "offer");
  EXPECT_EQ(
      reply(*v1, R"({"type":"answer","room":"show","to":")" + peer(*p) + R"(","data":{},"id":2})").at("type"),
      "ack");
  EXPECT_EQ(p->take().at(0).at("type"), "answer");
  for (const char* type : {"answer", "ice-candidate", "message"}) {
    auto r = reply(*v1, std::string(R"({"type":")") + type + R"(","room":"show","to":")" + peer(*v2) +
                            R"(","data":{},"id":3})");
    EXPECT_EQ(r.at("code"), "forbidden") << type;
    EXPECT_EQ(r.at("id"), 3);
    EXPECT_EQ(r.at("message"), "broadcast room: a viewer may signal only publishers");
  }
  EXPECT_EQ(reply(*v1, R"({"type":"offer","room":"show","to":")" + peer(*p) + R"(","data":{},"id":4})")
                .at("message"),
            "missing grant: publish");
  EXPECT_TRUE(v2->take().empty());

  // room-wide messages: a viewer's reach the publishers only, a publisher's everyone
  send(*v1, R"({"type":"message","room":"show","data":"from v1"})");
  EXPECT_EQ(p->take().at(0).at("data"), "from v1");
  EXPECT_TRUE(v2->take().empty());
  send(*p, R"({"type":"message","room":"show","data":"from p"})");
  EXPECT_EQ(v1->take().at(0).at("data"), "from p");
  EXPECT_EQ(v2->take().at(0).at("data"), "from p");

  // a second publisher is announced to everyone and sees everyone
  auto p2 = connect_with("p2", {}, 1);
  j = reply(*p2, R"({"type":"join","room":"show"})");
  EXPECT_EQ(j.at("peers").as_array().size(), 3u);
  for (auto* s : {p.get(), v1.get(), v2.get()}) EXPECT_EQ(s->take().at(0).at("type"), "peer-joined");

  send(*v1, R"({"type":"leave","room":"show"})");
  EXPECT_EQ(p->take().at(0).at("type"), "peer-left");
  EXPECT_EQ(p2->take().at(0).at("type"), "peer-left");
  EXPECT_TRUE(v2->take().empty());
  routing::LocalBus::set_current_shard(0);
  hub_.disconnect(*v2);
  EXPECT_EQ(p->take().at(0).at("reason"), "disconnected");
  send(*p, R"({"type":"leave","room":"show"})");
  EXPECT_EQ(p2->take().at(0).at("type"), "peer-left");
}

TEST_F(HubTest, ALaterJoinerCannotChangeTheKind) {
  auto a = connect("a");
  send(*a, R"({"type":"join","room":"m"})");
  auto b =
      connect_with("b", json::object{{"room_config", json::object{{"kind", "broadcast"}, {"max_peers", 1}}}});
  auto j = reply(*b, R"({"type":"join","room":"m"})");
  EXPECT_EQ(j.at("kind"), "meeting");
  EXPECT_EQ(hub_.room(RoomId("m"))->max_peers, 3u);
  auto c = connect("c");
  EXPECT_EQ(reply(*c, R"({"type":"join","room":"m"})").at("type"), "joined") << "b's max_peers 1 was ignored";
}

TEST_F(HubTest, BroadcastRoomsHaveTheirOwnCap) {
  std::vector<std::unique_ptr<FakeSession>> s;
  for (int i = 0; i < 5; ++i)
    s.push_back(connect_with(std::to_string(i), json::object{{"room_config", broadcast_config()}}, i % 2));
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(reply(*s[i], R"({"type":"join","room":"big"})").at("type"), "joined")
        << i << " > meeting cap 3";
  auto r = reply(*s[4], R"({"type":"join","room":"big"})");
  EXPECT_EQ(r.at("code"), "room-full");
  EXPECT_EQ(r.at("message"), "room is full (4 peers)");
}

TEST_F(HubTest, TheTokensMaxPeersIsKeptBelowTheServerCap) {
  auto a = connect_with(
      "a",
      json::object{{"room_config", json::object{{"max_peers", 2}, {"metadata", json::object{{"t", 1}}}}}});
  send(*a, R"({"type":"join","room":"small"})");
  EXPECT_EQ(hub_.room(RoomId("small"))->max_peers, 2u);
  EXPECT_EQ(hub_.room(RoomId("small"))->metadata, R"({"t":1})") << "the room_config metadata is the room's";
  auto b = connect_with("b", json::object{{"room_config", json::object{{"max_peers", 1000}}}});
  send(*b, R"({"type":"join","room":"capped"})");
  EXPECT_EQ(hub_.room(RoomId("capped"))->max_peers, 3u) << "lowered to the meeting cap";
}

TEST_F(HubTest, NamedRoomConfigurationBeatsTheToken) {
  auto a = connect_with("a", json::object{{"room_config", json::object{{"kind", "meeting"}}}});
  EXPECT_EQ(reply(*a, R"({"type":"join","room":"named-live"})").at("kind"), "broadcast");
  EXPECT_EQ(hub_.room(RoomId("named-live"))->max_peers, 4u);
  auto b = connect_with("b", json::object{{"room_config", broadcast_config()}});
  EXPECT_EQ(reply(*b, R"({"type":"join","room":"named-other"})").at("kind"), "meeting") << "pattern named-*";
  EXPECT_EQ(hub_.room(RoomId("named-other"))->max_peers, 2u);
}

TEST_F(HubTest, AnInvalidRoomConfigIsABadRequestNamingTheProblem) {
  for (json::value bad :
       {json::value(json::object{{"kind", "webinar"}}), json::value(json::object{{"max_peers", 0}}),
        json::value(json::object{{"max_peers", "9"}}), json::value(json::object{{"x", 1}})}) {
    auto a = connect_with("a", json::object{{"room_config", bad}});
    auto r = reply(*a, R"({"type":"join","room":"r","id":1})");
    EXPECT_EQ(r.at("code"), "bad-request") << json::serialize(bad);
    EXPECT_TRUE(r.at("message").as_string().starts_with("invalid token claim: room_config"))
        << r.at("message");
    EXPECT_EQ(hub_.room(RoomId("r")), std::nullopt);
  }
}

TEST_F(HubTest, KickingAViewerTellsOnlyThePublishers) {
  auto p = connect_with("p", json::object{{"room_config", broadcast_config()}});
  auto v1 = connect_with("v1", grants({{"publish", false}}), 1);
  auto v2 = connect_with("v2", grants({{"publish", false}}), 1);
  for (auto* s : {p.get(), v1.get(), v2.get()}) send(*s, R"({"type":"join","room":"show"})");
  p->take();
  v1->take();
  v2->take();
  EXPECT_EQ(hub_.kick(RoomId("show"), PeerId(peer(*v1)), "bye"), AdminStatus::ok);
  drain();
  EXPECT_EQ(p->take().at(0).at("reason"), "kicked");
  EXPECT_TRUE(v2->take().empty());
  EXPECT_EQ(v1->take().at(0).at("type"), "kicked");
}

TEST_F(HubTest, AdminCanPreCreateABroadcastRoom) {
  RoomInfo info;
  rtc::RoomConfig cfg;
  cfg.kind = "broadcast";
  ASSERT_EQ(hub_.create_room(RoomId("pre"), cfg, info), AdminStatus::ok);
  EXPECT_EQ(info.kind, "broadcast");
  EXPECT_EQ(info.max_peers, 4u);
  auto v = connect_with("v", grants({{"publish", false}}));
  EXPECT_EQ(reply(*v, R"({"type":"join","room":"pre"})").at("publisher"), false);
}

}  // namespace
}  // namespace sb::service

namespace sb::service {
namespace {

// Holds refetch requests until the test completes them, like a JWKS fetch in flight.
class HeldRefresher final : public auth::KeyRefresher {
 public:
  void refetch(std::function<void()> done) override { held.push_back(std::move(done)); }
  std::vector<std::function<void()>> held;
};

// {"alg":"RS256","kid":"k9"}.{"iss":"https://id.example.com","sub":"x","exp":9999999999}.AAAA
const std::string kUnknownKidToken =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6Ims5In0."
    "eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIiwic3ViIjoieCIsImV4cCI6OTk5OTk5OTk5OX0.AAAA";

TEST_F(HubTest, HelloWithUnknownKidWaitsForOneRefetchThenFails) {
  auth::OidcVerifier oidc(auth::OidcConfig{"https://id.example.com", "", 30, {}});
  HeldRefresher keys;
  hub_.set_oidc(&oidc, &keys);
  FakeSession s(0);
  send(s, R"({"type":"hello","id":"h","token":")" + kUnknownKidToken + "\"}");
  EXPECT_TRUE(s.frames.empty()) << "no answer while the keys are being fetched";
  ASSERT_EQ(keys.held.size(), 1u);
  send(s, R"({"type":"hello","id":"h2","token":")" + kUnknownKidToken + "\"}");
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.last().at("code"), "bad-request") << "a second hello while the first waits";
  EXPECT_EQ(keys.held.size(), 1u);
  s.take();

  keys.held[0]();  // the fetch ends; the kid is still unknown
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.last().at("code"), "unauthorized");
  EXPECT_EQ(s.last().at("message"), "invalid token: no-key");
  EXPECT_EQ(s.last().at("id"), "h");
  EXPECT_EQ(s.closed_with, proto::close_code::unauthorized);
  EXPECT_FALSE(s.authenticated());
}

TEST_F(HubTest, TokensOfOtherIssuersStillGoToTheServersVerifier) {
  auth::OidcVerifier oidc(auth::OidcConfig{"https://id.example.com", "", 30, {}});
  HeldRefresher keys;
  hub_.set_oidc(&oidc, &keys);
  FakeSession s(0);
  send(s, R"({"type":"hello","token":")" + token("alice") + "\"}");
  EXPECT_EQ(s.last().at("type"), "welcome");
  EXPECT_TRUE(keys.held.empty());
}

}  // namespace
}  // namespace sb::service
