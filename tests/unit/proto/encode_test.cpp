#include "proto/encode.h"

#include <gtest/gtest.h>

namespace sb::proto {
namespace {

std::string closed(std::string s, uint64_t seq) {
  close_frame(s, seq);
  return s;
}

TEST(Encode, CloseFrameAddsSeq) {
  EXPECT_EQ(closed(ack(""), 1), R"({"type":"ack","seq":1})");
  EXPECT_EQ(closed(ack(R"("x")"), 18446744073709551615ull),
            R"({"type":"ack","id":"x","seq":18446744073709551615})");
}

TEST(Encode, Welcome) {
  Welcome w{"7", SessionId("s1"), PeerId("p1"), UserId("alice"), "Alice \"A\"", 20, "[]"};
  EXPECT_EQ(closed(welcome(w), 1),
            R"({"type":"welcome","id":7,"session":"s1","peer":"p1","user":"alice","name":"Alice \"A\"",)"
            R"("heartbeat_s":20,"ice_servers":[],"resumed":false,"seq":1})");
  w.name = {};
  w.id = {};
  EXPECT_EQ(
      closed(welcome(w), 2),
      R"({"type":"welcome","session":"s1","peer":"p1","user":"alice","heartbeat_s":20,"ice_servers":[],)"
      R"("resumed":false,"seq":2})");
  EXPECT_EQ(
      closed(welcome(w, "sec\"ret", true), 3),
      R"({"type":"welcome","session":"s1","peer":"p1","user":"alice","heartbeat_s":20,"ice_servers":[],)"
      R"("resume_token":"sec\"ret","resumed":true,"seq":3})");
}

TEST(Encode, JoinedListsOthers) {
  rtc::Member a{PeerId("pa"), UserId("ua"), "A", R"({"mic":true})", 0};
  rtc::Member b{PeerId("pb"), UserId("ub"), "", "{}", 1};
  EXPECT_EQ(
      closed(joined(R"("j")", RoomId("r"), {&a, &b}), 3),
      R"({"type":"joined","id":"j","room":"r","kind":"meeting","peers":[{"peer":"pa","user":"ua","name":"A",)"
      R"("metadata":{"mic":true}},{"peer":"pb","user":"ub","metadata":{}}],"seq":3})");
  EXPECT_EQ(closed(joined("", RoomId("r"), {}), 1),
            R"({"type":"joined","room":"r","kind":"meeting","peers":[],"seq":1})");
}

TEST(Encode, BroadcastFramesCarryThePublisherFlag) {
  rtc::Member a{PeerId("pa"), UserId("ua"), "", "{}", 0};
  a.publisher = true;
  EXPECT_EQ(closed(joined("1", RoomId("r"), {&a}, "broadcast", false), 2),
            R"({"type":"joined","id":1,"room":"r","kind":"broadcast","publisher":false,)"
            R"("peers":[{"peer":"pa","user":"ua","metadata":{},"publisher":true}],"seq":2})");
  rtc::Member v{PeerId("pv"), UserId("uv"), "", "{}", 0};
  EXPECT_EQ(
      closed(peer_joined(RoomId("r"), v, true), 3),
      R"({"type":"peer-joined","room":"r","peer":"pv","user":"uv","metadata":{},"publisher":false,"seq":3})");
  EXPECT_EQ(
      closed(peer_updated(RoomId("r"), a, true), 4),
      R"({"type":"peer-updated","room":"r","peer":"pa","user":"ua","metadata":{},"publisher":true,"seq":4})");
}

TEST(Encode, MetadataThatLooksLikeSeparatorsIsUntouched) {
  rtc::Member a{PeerId("pa"), UserId("ua"), "", R"({"k":"{,\"x"})", 0};
  EXPECT_EQ(closed(peer_joined(RoomId("r"), a), 1),
            R"({"type":"peer-joined","room":"r","peer":"pa","user":"ua","metadata":{"k":"{,\"x"},"seq":1})");
}

TEST(Encode, PeerEvents) {
  rtc::Member a{PeerId("pa"), UserId("ua"), "A", "{}", 0};
  EXPECT_EQ(closed(peer_updated(RoomId("r"), a), 4),
            R"({"type":"peer-updated","room":"r","peer":"pa","user":"ua","name":"A","metadata":{},"seq":4})");
  EXPECT_EQ(closed(peer_left(RoomId("r"), PeerId("pa"), "left"), 5),
            R"({"type":"peer-left","room":"r","peer":"pa","reason":"left","seq":5})");
}

TEST(Encode, ErrorAndGoingAway) {
  EXPECT_EQ(closed(error("9", ErrorCode::room_full, "room is full"), 2),
            R"({"type":"error","id":9,"code":"room-full","message":"room is full","seq":2})");
  EXPECT_EQ(closed(going_away("shutdown"), 3), R"({"type":"going-away","reason":"shutdown","seq":3})");
  EXPECT_EQ(closed(going_away("draining", true), 4),
            R"({"type":"going-away","reason":"draining","reconnect":true,"seq":4})");
  EXPECT_EQ(closed(pong(""), 1), R"({"type":"pong","seq":1})");
}

TEST(Encode, RelayCopiesDataVerbatim) {
  const std::string data = "{ \"sdp\" : \"v=0\\r\\n\" ,\"type\":\"offer\"}";
  EXPECT_EQ(closed(relay(MsgType::ice_candidate, RoomId("r"), PeerId("pa"), data), 8),
            R"({"type":"ice-candidate","room":"r","from":"pa","data":)" + data + R"(,"seq":8})");
}

TEST(Encode, ErrorCodeNamesAreTheDocumentedOnes) {
  EXPECT_EQ(to_string(ErrorCode::bad_request), "bad-request");
  EXPECT_EQ(to_string(ErrorCode::unauthorized), "unauthorized");
  EXPECT_EQ(to_string(ErrorCode::forbidden), "forbidden");
  EXPECT_EQ(to_string(ErrorCode::not_in_room), "not-in-room");
  EXPECT_EQ(to_string(ErrorCode::already_joined), "already-joined");
  EXPECT_EQ(to_string(ErrorCode::peer_not_found), "peer-not-found");
  EXPECT_EQ(to_string(ErrorCode::room_full), "room-full");
  EXPECT_EQ(to_string(ErrorCode::too_large), "too-large");
  EXPECT_EQ(to_string(ErrorCode::rate_limited), "rate-limited");
  EXPECT_EQ(to_string(ErrorCode::internal), "internal");
  EXPECT_EQ(to_string(ErrorCode::token_expired), "token-expired");
}

// Frames a session keeps for replay (an idle member keeps its `joined` for its
// whole life) carry no more than 16 spare bytes of string capacity. Built from the longest to the shortest so
// that no growth pattern happens to land on the exact size.
TEST(Encode, KeptFramesCarryNoSlack) {
  const rtc::Member a{PeerId("ca695d0a51199ed700"), UserId("user-with-a-long-name-4711"), "Alice Example",
                      R"({"mic":true,"cam":false,"hand":false})", 0};
  const rtc::Member b{PeerId("3087ccc35a4152ce00"), UserId("bob"), "Bob", "{}", 1};
  const RoomId room("a-meeting-room-with-a-longer-name");
  const auto spare = [](const std::string& s) { return s.capacity() - s.size(); };
  const std::vector<std::string> frames = {
      joined(R"("join-1")", room, {&a, &b}, "meeting", true),
      joined({}, room, {}, "meeting", true),
      peer_joined(room, a, false),
      peer_updated(room, b, true),
      peer_left(room, a.peer, "disconnected"),
      error(R"("x")", ErrorCode::bad_request,
            "a message long enough to make the frame grow past its first guess"),
      going_away("draining", true),
      room_closed(room),
      kicked(room, "by an operator"),
  };
  for (const std::string& f : frames) {
    EXPECT_GT(f.size(), 15u) << f;  // on the heap, where slack costs
    EXPECT_LE(spare(f), 16u) << f;
  }
  // An ack is reserved at its size (libstdc++ grows a string to at least twice the 15
  // inline bytes, so a short one may still have a few spare).
  for (const std::string& f : {ack(R"("m123456")"), ack("1234567890123"), pong("9")})
    EXPECT_LE(spare(f), 16u) << f;
}

}  // namespace
}  // namespace sb::proto
