// Session resume in the Hub, without sockets: connections are fakes that record
// frames (with the seq the session gave them) and can carry a session homed on
// another loop; two loops' io_contexts are polled by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>
#include <memory>
#include <optional>

#include "proto/encode.h"
#include "service/hub.h"

namespace sb::service {
namespace {

namespace json = boost::json;
const std::string kSecret = "resume-test-secret";

std::string token(const std::string& user) {
  auth::TokenSpec spec;
  spec.user = UserId(user);
  spec.grants.rooms = {"*"};
  spec.grants.publish = !user.starts_with("viewer");  // viewers of broadcast rooms
  spec.issued_at = std::time(nullptr);
  spec.expires_at = spec.issued_at + 600;
  return auth::sign_hs256(kSecret, spec);
}

// A connection: a Session of its own until a resume makes it carry one homed elsewhere.
class FakeConn final : public Session, public Transport, public std::enable_shared_from_this<FakeConn> {
 public:
  FakeConn(uint32_t shard, Hub& hub) : Session(shard), hub_(hub) {}

  void deliver(const routing::Body& body) override {
    if (fwd) return hub_.forward_deliver(fwd->home, fwd->session, fwd->ticket, body);
    record(*body, stamp(body));
  }
  void close(uint16_t code, std::string_view) override { closed_with = code; }
  std::weak_ptr<Transport> transport() override {
    return std::static_pointer_cast<Transport>(shared_from_this());
  }

  Session& session() override { return *this; }
  void forward_to(uint32_t home, const SessionId& session, uint64_t ticket) override {
    fwd = Fwd{home, session, ticket};
    paused = true;
  }
  void attached() override { paused = false; }
  void refused() override {
    fwd.reset();
    paused = false;
  }
  void write(const routing::Body& body, uint64_t seq) override { record(*body, seq); }
  void end(uint16_t code, std::string_view reason) override { close(code, reason); }

  std::vector<json::object> take() { return std::exchange(frames, {}); }
  uint64_t max_seq() const {
    uint64_t m = 0;
    for (const auto& f : all) m = std::max<uint64_t>(m, f.at("seq").as_int64());
    return m;
  }

  struct Fwd {
    uint32_t home;
    SessionId session;
    uint64_t ticket;
  };
  std::optional<Fwd> fwd;
  bool paused = false;
  std::vector<json::object> frames, all;
  uint16_t closed_with = 0;

 private:
  void record(const std::string& body, uint64_t seq) {
    std::string s = body;
    proto::close_frame(s, seq);
    frames.push_back(json::parse(s).as_object());
    all.push_back(frames.back());
  }
  Hub& hub_;
};

class ResumeTest : public ::testing::Test {
 protected:
  explicit ResumeTest(size_t buffer_messages = 1000)
      : verifier_(auth::VerifierConfig{kSecret, {}, "", "", 30}),
        bus_({{&ioc0_, &t0_}, {&ioc1_, &t1_}}),
        metrics_(2),
        hub_(config(buffer_messages), verifier_, bus_, metrics_) {
    routing::LocalBus::set_current_shard(0);
  }

  static HubConfig config(size_t buffer_messages) {
    HubConfig c;
    c.resume_window_s = 30;
    c.resume_buffer_messages = buffer_messages;
    return c;
  }

  void send(FakeConn& c, const std::string& frame) {
    routing::LocalBus::set_current_shard(c.shard());
    if (c.fwd) {
      hub_.forward_input(c.fwd->home, c.fwd->session, c.fwd->ticket, frame, routing::Clock::now());
    } else {
      proto::ClientMessage m;
      proto::ParseError e;
      if (parser_.parse(frame, m, e))
        hub_.handle(c, m);
      else
        hub_.reject(c, e);
    }
    drain();
  }

  void drain() {
    for (int round = 0; round < 20; ++round) {
      routing::LocalBus::set_current_shard(0);
      size_t n = ioc0_.poll();
      ioc0_.restart();
      routing::LocalBus::set_current_shard(1);
      n += ioc1_.poll();
      ioc1_.restart();
      if (n == 0) break;
    }
  }

  // A connection drops (or closes): what the transport does in finish().
  void drop(FakeConn& c, bool resumable = true) {
    routing::LocalBus::set_current_shard(c.shard());
    if (c.fwd)
      hub_.transport_closed(c.fwd->home, c.fwd->session, c.fwd->ticket, resumable);
    else
      hub_.disconnect(c, resumable);
    drain();
  }

  std::shared_ptr<FakeConn> connect(const std::string& user, uint32_t shard) {
    auto c = std::make_shared<FakeConn>(shard, hub_);
    send(*c, R"({"type":"hello","token":")" + token(user) + "\"}");
    welcome = c->frames.back();
    EXPECT_EQ(welcome.at("type"), "welcome");
    EXPECT_EQ(welcome.at("resumed"), false);
    c->take();
    return c;
  }

  std::shared_ptr<FakeConn> resume(const std::string& user, uint32_t shard, const json::object& w,
                                   uint64_t last_seq, std::string secret = {}) {
    auto c = std::make_shared<FakeConn>(shard, hub_);
    if (secret.empty()) secret = std::string(w.at("resume_token").as_string());
    send(*c, R"({"type":"hello","id":"r","token":")" + token(user) + R"(","resume":{"session":")" +
                 std::string(w.at("session").as_string()) + R"(","resume_token":")" + secret +
                 R"(","last_seq":)" + std::to_string(last_seq) + "}}");
    return c;
  }

  // a (alice, shard 0) and b (bob, shard 1) in room "r".
  void pair() {
    a = connect("alice", 0);
    wa = welcome;
    b = connect("bob", 1);
    send(*a, R"({"type":"join","room":"r"})");
    send(*b, R"({"type":"join","room":"r"})");
    a->take();
    b->take();
  }

  // b relays message n to a; asserts it was acked and keeps b's other frames.
  void b_to_a(int n) {
    send(*b, R"({"type":"message","id":)" + std::to_string(n) + R"(,"room":"r","to":")" +
                 std::string(wa.at("peer").as_string()) + R"(","data":)" + std::to_string(n) + "}");
    auto it = std::find_if(b->frames.begin(), b->frames.end(),
                           [&](const json::object& f) { return f.at("type") == "ack" && f.at("id") == n; });
    ASSERT_NE(it, b->frames.end()) << "message " << n << " not acked";
    b->frames.erase(it);
  }

  static std::vector<int64_t> data_of(const std::vector<json::object>& fs) {
    std::vector<int64_t> out;
    for (const auto& f : fs)
      if (f.at("type") == "message") out.push_back(f.at("data").as_int64());
    return out;
  }

  boost::asio::io_context ioc0_, ioc1_;
  routing::ShardTable t0_, t1_;
  auth::JwtVerifier verifier_;
  routing::LocalBus bus_;
  Metrics metrics_;
  Hub hub_;
  proto::Parser parser_;
  json::object welcome, wa;
  std::shared_ptr<FakeConn> a, b;
};

// Session ids and resume tokens are 128 random bits in 22 base64url characters
// (docs/protocol.md): short enough to be stored inline (core/small_string.h).
TEST_F(ResumeTest, SessionIdAndResumeTokenAre22Base64urlCharacters) {
  const auto b64url22 = [](const json::value& v) {
    const std::string_view s = v.as_string();
    return s.size() == 22 && std::all_of(s.begin(), s.end(), [](char c) {
             return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_';
           });
  };
  connect("alice", 0);
  const json::object first = welcome;
  connect("alice", 1);
  for (const json::object* w : {&first, static_cast<const json::object*>(&welcome)}) {
    EXPECT_TRUE(b64url22(w->at("session"))) << json::serialize(*w);
    EXPECT_TRUE(b64url22(w->at("resume_token"))) << json::serialize(*w);
  }
  EXPECT_NE(first.at("session"), welcome.at("session"));
  EXPECT_NE(first.at("resume_token"), welcome.at("resume_token"));
  EXPECT_NE(first.at("session"), first.at("resume_token"));
}

TEST_F(ResumeTest, ParkedSessionResumesOnAnotherLoopWithTheMissedFramesInOrder) {
  pair();
  b_to_a(1);
  b_to_a(2);
  b_to_a(3);
  const uint64_t seen = a->frames[1].at("seq").as_int64();  // the client read up to message 2
  drop(*a);
  EXPECT_EQ(hub_.resumed_count(0), 1u);
  b_to_a(4);  // kept while parked, and acked
  auto c = resume("alice", 1, wa, seen);
  ASSERT_EQ(c->frames.size(), 3u);
  EXPECT_EQ(data_of(c->frames), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(c->frames[0].at("seq").as_int64(), static_cast<int64_t>(seen + 1));
  EXPECT_EQ(c->frames[1].at("seq").as_int64(), static_cast<int64_t>(seen + 2));
  const auto& w = c->frames[2];
  EXPECT_EQ(w.at("type"), "welcome");
  EXPECT_EQ(w.at("resumed"), true);
  EXPECT_EQ(w.at("id"), "r");
  EXPECT_EQ(w.at("peer"), wa.at("peer"));
  EXPECT_EQ(w.at("session"), wa.at("session"));
  EXPECT_EQ(w.at("seq").as_int64(), static_cast<int64_t>(seen + 3));
  EXPECT_FALSE(c->paused);
  c->take();
  // New traffic both ways, seq continuing; b saw no leave/join.
  b_to_a(5);
  ASSERT_EQ(c->frames.size(), 1u);
  EXPECT_EQ(c->frames[0].at("seq").as_int64(), static_cast<int64_t>(seen + 4));
  send(*c, R"({"type":"message","id":"m","room":"r","data":"hi"})");
  EXPECT_EQ(c->frames.back().at("type"), "ack");
  EXPECT_EQ(b->frames.back().at("from"), wa.at("peer"));
  for (const auto& f : b->all) EXPECT_NE(f.at("type"), "peer-left");
  EXPECT_EQ(hub_.peer_count(), 2u);
}

TEST_F(ResumeTest, AResumedViewerOfABroadcastRoomIsStillAViewer) {
  RoomInfo info;
  rtc::RoomConfig cfg;
  cfg.kind = "broadcast";
  ASSERT_EQ(hub_.create_room(RoomId("show"), cfg, info), AdminStatus::ok);
  auto v1 = connect("viewer1", 0);
  const json::object w1 = welcome;
  auto v2 = connect("viewer2", 1);
  const std::string p2 = std::string(welcome.at("peer").as_string());
  for (auto* v : {v1.get(), v2.get()}) {
    send(*v, R"({"type":"join","room":"show"})");
    EXPECT_EQ(v->frames.back().at("publisher"), false);
  }
  drop(*v1);
  auto c = resume("viewer1", 1, w1, w1.at("seq").as_int64());
  ASSERT_EQ(c->frames.back().at("resumed"), true);
  send(*c, R"({"type":"message","id":9,"room":"show","to":")" + p2 + R"(","data":1})");
  EXPECT_EQ(c->frames.back().at("code"), "forbidden");
  EXPECT_EQ(c->frames.back().at("message"), "broadcast room: a viewer may signal only publishers");
}

TEST_F(ResumeTest, WindowExpiryEndsTheSessionAndAResumeThenStartsAfresh) {
  pair();
  drop(*a);
  routing::LocalBus::set_current_shard(0);
  hub_.sweep(0, routing::Clock::now() + std::chrono::seconds(29));
  drain();
  EXPECT_TRUE(b->frames.empty());
  hub_.sweep(0, routing::Clock::now() + std::chrono::seconds(31));
  drain();
  ASSERT_EQ(b->frames.size(), 1u);
  EXPECT_EQ(b->frames[0].at("type"), "peer-left");
  EXPECT_EQ(b->frames[0].at("reason"), "disconnected");
  EXPECT_EQ(hub_.resumed_count(0), 0u);
  EXPECT_EQ(hub_.resumable_count(), 1u);  // bob only
  auto c = resume("alice", 1, wa, a->max_seq());
  ASSERT_EQ(c->frames.size(), 1u);
  EXPECT_EQ(c->frames[0].at("resumed"), false);
  EXPECT_NE(c->frames[0].at("peer"), wa.at("peer"));
  EXPECT_EQ(c->frames[0].at("seq"), 1);
}

// The sweep expires parked sessions from a queue in park order, not by walking
// them all. A session resumed since its park must not be ended by that park's
// expiry, and a session parked again must expire by its new park.
TEST_F(ResumeTest, TheSweepEndsOnlySessionsStillParkedAWindowLater) {
  pair();
  auto x = connect("carol", 0);
  drop(*a);
  drop(*x);
  EXPECT_EQ(hub_.resumed_count(0), 2u);
  auto c = resume("alice", 1, wa, a->max_seq());  // alice is carried again; carol stays parked
  c->take();
  routing::LocalBus::set_current_shard(0);
  hub_.sweep(0, routing::Clock::now() + std::chrono::seconds(31));
  drain();
  EXPECT_EQ(hub_.resumed_count(0), 1u);  // carol's session ended; alice's goes on
  b_to_a(1);
  EXPECT_EQ(data_of(c->take()), (std::vector<int64_t>{1}));
  for (const auto& f : b->all) EXPECT_NE(f.at("type"), "peer-left");
  // Parked again: it expires a window after this park, not before.
  drop(*c);
  routing::LocalBus::set_current_shard(0);
  hub_.sweep(0, routing::Clock::now() + std::chrono::seconds(29));
  drain();
  EXPECT_EQ(hub_.resumed_count(0), 1u);
  hub_.sweep(0, routing::Clock::now() + std::chrono::seconds(31));
  drain();
  EXPECT_EQ(hub_.resumed_count(0), 0u);
  ASSERT_FALSE(b->frames.empty());
  EXPECT_EQ(b->frames.back().at("type"), "peer-left");
}

TEST_F(ResumeTest, WrongSecretOtherUserOrUnknownSessionStartANewSession) {
  pair();
  std::string secret(wa.at("resume_token").as_string());
  std::string wrong = secret;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const auto& [user, s] : std::vector<std::pair<std::string, std::string>>{
           {"alice", wrong}, {"mallory", secret}, {"mallory", wrong}}) {
    auto c = resume(user, 1, wa, 0, s);
    ASSERT_EQ(c->frames.size(), 1u) << user;
    EXPECT_EQ(c->frames[0].at("resumed"), false);
    EXPECT_NE(c->frames[0].at("peer"), wa.at("peer"));
    EXPECT_FALSE(c->fwd);
  }
  json::object unknown = wa;
  unknown["session"] = "0123456789abcdef0123456789abcdef";
  auto c = resume("alice", 0, unknown, 0);
  EXPECT_EQ(c->frames.back().at("resumed"), false);
  EXPECT_EQ(a->closed_with, 0);  // never taken over
  b_to_a(1);
  EXPECT_EQ(data_of(a->take()), (std::vector<int64_t>{1}));
}

TEST_F(ResumeTest, ALastSeqNeverSentIsRefused) {
  pair();
  drop(*a);
  auto c = resume("alice", 0, wa, a->max_seq() + 1);
  EXPECT_EQ(c->frames.back().at("resumed"), false);
}

TEST_F(ResumeTest, ResumingAConnectedSessionTakesItOver) {
  pair();
  b_to_a(1);
  auto c = resume("alice", 1, wa, a->max_seq());
  EXPECT_EQ(a->closed_with, proto::close_code::resumed_elsewhere);
  ASSERT_EQ(c->frames.size(), 1u);
  EXPECT_EQ(c->frames[0].at("resumed"), true);
  drop(*a);  // the old connection's end no longer concerns the session
  b_to_a(2);
  EXPECT_EQ(data_of(c->take()), (std::vector<int64_t>{2}));
  // And again: the newer connection takes over the one carrying the session now.
  auto d = resume("alice", 0, wa, c->max_seq());
  EXPECT_EQ(c->closed_with, proto::close_code::resumed_elsewhere);
  drop(*c);  // ignored: its ticket is no longer the session's
  b_to_a(3);
  EXPECT_EQ(data_of(d->take()), (std::vector<int64_t>{3}));
  for (const auto& f : b->all) EXPECT_NE(f.at("type"), "peer-left");
}

TEST_F(ResumeTest, ANonResumableCloseLeavesAtOnce) {
  pair();
  drop(*a, false);
  ASSERT_EQ(b->frames.size(), 1u);
  EXPECT_EQ(b->frames[0].at("reason"), "disconnected");
  EXPECT_EQ(hub_.resumed_count(0), 0u);
}

TEST_F(ResumeTest, AResumedSessionEndsWhenItsConnectionClosesForGood) {
  pair();
  drop(*a);
  auto c = resume("alice", 1, wa, a->max_seq());
  drop(*c, false);
  ASSERT_EQ(b->frames.size(), 1u);
  EXPECT_EQ(b->frames[0].at("type"), "peer-left");
  EXPECT_EQ(hub_.resumed_count(0), 0u);
}

class ResumeOverflowTest : public ResumeTest {
 protected:
  ResumeOverflowTest() : ResumeTest(3) {}
};

TEST_F(ResumeOverflowTest, OverflowWhileParkedEndsTheSession) {
  pair();
  drop(*a);
  b_to_a(1);
  b_to_a(2);
  b_to_a(3);
  EXPECT_TRUE(b->frames.empty());
  b_to_a(4);  // accepted, then the 4th kept frame overflows the buffer of 3
  ASSERT_EQ(b->frames.size(), 1u);
  EXPECT_EQ(b->frames[0].at("type"), "peer-left");
  EXPECT_EQ(b->frames[0].at("reason"), "resume-overflow");
  auto c = resume("alice", 0, wa, a->max_seq());
  EXPECT_EQ(c->frames.back().at("resumed"), false);
}

}  // namespace
}  // namespace sb::service
