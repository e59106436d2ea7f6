#include "routing/cluster_wire.h"

#include <gtest/gtest.h>

namespace sb::routing::wire {
namespace {

rtc::Member sample() {
  rtc::Member m;
  m.peer = PeerId("0123456789ab00ff01");
  m.user = UserId("alice \"the\" first");
  m.name = "Ann\nLee";
  m.metadata = R"({"mic":true,"tags":["a","b"]})";
  m.home = 3;
  m.joined_at = 1700000000;
  m.publisher = true;
  m.node = "node-1";
  return m;
}

TEST(ClusterWire, MemberRoundTrips) {
  rtc::Member out;
  ASSERT_TRUE(parse_member(member_json(sample()), out));
  const rtc::Member in = sample();
  EXPECT_EQ(out.peer, in.peer);
  EXPECT_EQ(out.user, in.user);
  EXPECT_EQ(out.name, in.name);
  EXPECT_EQ(out.metadata, in.metadata);
  EXPECT_EQ(out.home, in.home);
  EXPECT_EQ(out.joined_at, in.joined_at);
  EXPECT_TRUE(out.publisher);
  EXPECT_EQ(out.node, in.node);
}

TEST(ClusterWire, MemberRejectsMissingOrWrongFields) {
  rtc::Member out;
  EXPECT_FALSE(parse_member("", out));
  EXPECT_FALSE(parse_member("[]", out));
  EXPECT_FALSE(parse_member(R"({"peer":"p"})", out));
  EXPECT_FALSE(parse_member(
      R"({"peer":"p","user":"u","name":"","metadata":"{}","node":"n","shard":300,"joined_at":1,"pub":false})",
      out));
  EXPECT_FALSE(parse_member(
      R"({"peer":"p","user":"u","name":"","metadata":"{}","node":"n","shard":1,"joined_at":1,"pub":"yes"})",
      out));
  EXPECT_TRUE(parse_member(
      R"({"peer":"p","user":"u","name":"","metadata":"{}","node":"n","shard":1,"joined_at":1,"pub":false})",
      out));
}

TEST(ClusterWire, EventsAsTheScriptsPublishThem) {
  MemberEvent ev;
  ASSERT_TRUE(parse_event(R"({"ev":"join","ver":7,"m":)" + member_json(sample()) + "}", ev));
  EXPECT_EQ(ev.kind, MemberEvent::join);
  EXPECT_EQ(ev.ver, 7u);
  EXPECT_EQ(ev.member.peer, sample().peer);
  ASSERT_TRUE(parse_event(R"({"ev":"leave","ver":8,"peer":"abc","pub":true,"reason":"node-lost"})", ev));
  EXPECT_EQ(ev.kind, MemberEvent::leave);
  EXPECT_EQ(ev.member.peer, PeerId("abc"));
  EXPECT_TRUE(ev.member.publisher);
  EXPECT_EQ(ev.reason, "node-lost");
  ASSERT_TRUE(parse_event(R"({"ev":"update","ver":9,"m":)" + member_json(sample()) + "}", ev));
  EXPECT_EQ(ev.kind, MemberEvent::update);
  ASSERT_TRUE(parse_event(R"({"ev":"move","ver":10,"m":)" + member_json(sample()) + "}", ev));
  EXPECT_EQ(ev.kind, MemberEvent::move);
  EXPECT_EQ(ev.member.node, sample().node);
  // kRoomInfo: the metadata as a JSON string (cjson.encode escapes '/' as "\/").
  ASSERT_TRUE(parse_event(R"({"ev":"room","ver":11,"metadata":"{\"title\":\"a\/b\"}"})", ev));
  EXPECT_EQ(ev.kind, MemberEvent::room);
  EXPECT_EQ(ev.member.metadata, R"({"title":"a/b"})");
  EXPECT_FALSE(parse_event(R"({"ev":"room","ver":12,"metadata":{}})", ev));
  EXPECT_FALSE(parse_event(R"({"ev":"join","ver":0,"m":{}})", ev));
  EXPECT_FALSE(parse_event(R"({"ev":"explode","ver":3})", ev));
  EXPECT_FALSE(parse_event(R"({"ev":"leave","ver":3,"peer":"abc"})", ev));
  EXPECT_FALSE(parse_event("{", ev));
}

TEST(ClusterWire, PeerRelayRoundTripsWithBinaryBody) {
  static constexpr char kBody[] = "{\"x\":\"1:2\\n\"}\0tail";  // a NUL inside: binary-safe
  PeerRelay in{"node-a",
               7,
               PeerId("f1"),
               PeerId("t1"),
               RoomId("room.1"),
               proto::MsgType::offer,
               true,
               "id:with:colons",
               std::string(kBody, sizeof kBody - 1)};
  PeerRelay out;
  ASSERT_TRUE(decode(encode(in), out));
  EXPECT_EQ(out.origin_node, in.origin_node);
  EXPECT_EQ(out.origin_shard, 7u);
  EXPECT_EQ(out.from, in.from);
  EXPECT_EQ(out.to, in.to);
  EXPECT_EQ(out.room, in.room);
  EXPECT_EQ(out.type, proto::MsgType::offer);
  EXPECT_TRUE(out.from_viewer);
  EXPECT_EQ(out.ack_id, in.ack_id);
  EXPECT_EQ(out.body, in.body);
}

TEST(ClusterWire, ReplyAndRoomRelayRoundTrip) {
  RelayReply r{PeerId("s1"), 2, "a1", 2, "recipient is missing grant: subscribe"};
  RelayReply r2;
  ASSERT_TRUE(decode(encode(r), r2));
  EXPECT_EQ(r2.to, r.to);
  EXPECT_EQ(r2.shard, 2u);
  EXPECT_EQ(r2.verdict, 2);
  EXPECT_EQ(r2.reason, r.reason);
  RoomRelay b{"node-b", PeerId("e1"), proto::MsgType::message, false, "{\"data\":1}"};
  RoomRelay b2;
  ASSERT_TRUE(decode(encode(b), b2));
  EXPECT_EQ(b2.origin_node, b.origin_node);
  EXPECT_EQ(b2.except, b.except);
  EXPECT_EQ(b2.body, b.body);
}

TEST(ClusterWire, MalformedRelaysAreRefusedNeverRead) {
  const std::string good = encode(
      PeerRelay{"n", 1, PeerId("f"), PeerId("t"), RoomId("r"), proto::MsgType::message, false, "", "{}"});
  PeerRelay out;
  // Every truncation, and every single-byte change of a length digit, fails cleanly.
  for (size_t i = 0; i < good.size(); ++i)
    EXPECT_FALSE(decode(std::string_view(good).substr(0, i), out)) << i;
  EXPECT_FALSE(decode(good + "x", out));
  EXPECT_FALSE(decode("P99999999999:x", out));
  EXPECT_FALSE(decode("P-1:x", out));
  RoomRelay rr;
  EXPECT_FALSE(decode(good, rr));  // wrong tag
  // A relay type that is not relayable (hello) is refused.
  std::string hello = encode(
      PeerRelay{"n", 1, PeerId("f"), PeerId("t"), RoomId("r"), proto::MsgType::hello, false, "", "{}"});
  EXPECT_FALSE(decode(hello, out));
}

TEST(ClusterWire, HandoverRoundTripsAndMatchesTheScriptsForm) {
  const Handover h{Handover::release, PeerId("p1"), SessionId("s1"), "node-2"};
  Handover out;
  ASSERT_TRUE(decode(encode(h), out));
  EXPECT_EQ(out.kind, Handover::release);
  EXPECT_EQ(out.peer, PeerId("p1"));
  EXPECT_EQ(out.session, SessionId("s1"));
  EXPECT_EQ(out.node, "node-2");
  // What kHandoff publishes: 'H' / 'T', then length-prefixed peer, session, taker.
  ASSERT_TRUE(decode("H2:p12:s16:node-2", out));
  EXPECT_EQ(out.kind, Handover::handed);
  ASSERT_TRUE(decode("T2:p12:s16:node-2", out));
  EXPECT_EQ(out.kind, Handover::point);
  EXPECT_EQ(out.node, "node-2");
  const std::string good = encode(h);
  for (size_t i = 0; i < good.size(); ++i)
    EXPECT_FALSE(decode(std::string_view(good).substr(0, i), out)) << i;
  EXPECT_FALSE(decode("X2:p12:s16:node-2", out));  // not a handover tag
  EXPECT_FALSE(decode("Q0:2:s16:node-2", out));    // empty peer
  EXPECT_TRUE(is_handover('D'));
  EXPECT_FALSE(is_handover(kPeerRelay));
}

TEST(ClusterWire, RelayCutAroundItsRecipientIsTheRelayOnceFilledIn) {
  PeerRelay in{"node-a", 0,  PeerId("f1"), PeerId("t1"), RoomId("r.1"), proto::MsgType::message,
               true,     "", "{\"d\":1}"};
  const PeerRelayParts parts = encode_around_to(in);
  // What kRoomSend's entry(peer) builds: head .. #peer .. ':' .. peer .. tail.
  EXPECT_EQ(parts.head + "2:t1" + parts.tail, encode(in));
  PeerRelay out;
  ASSERT_TRUE(decode(parts.head + "5:other" + parts.tail, out));
  EXPECT_EQ(out.to, PeerId("other"));
  EXPECT_EQ(out.from, in.from);
  EXPECT_EQ(out.body, in.body);
}

TEST(ClusterWire, KeptEventsAsTheScriptsKeepThem) {
  const std::string ev = R"({"ev":"leave","ver":4,"peer":"p1","pub":false,"reason":"kicked"})";
  // kept_event in routing/cluster_scripts.h: 'E', #room, ':', room, the event.
  const std::string kept = "E6:room.1" + ev;
  EXPECT_EQ(encode(KeptEvent{RoomId("room.1"), ev}), kept);
  KeptEvent out;
  ASSERT_TRUE(decode(kept, out));
  EXPECT_EQ(out.room, RoomId("room.1"));
  EXPECT_EQ(out.event, ev);
  MemberEvent me;
  ASSERT_TRUE(parse_event(out.event, me));
  EXPECT_EQ(me.reason, "kicked");
  for (size_t i = 0; i <= 9; ++i) EXPECT_FALSE(decode(kept.substr(0, i), out)) << i;
  EXPECT_FALSE(decode("E0:{}", out));  // no room
  EXPECT_FALSE(decode("P6:room.1{}", out));
}

}  // namespace
}  // namespace sb::routing::wire
