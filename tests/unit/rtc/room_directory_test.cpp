#include "rtc/room_directory.h"

#include <gtest/gtest.h>

namespace sb::rtc {
namespace {

Member member(const char* peer, uint32_t home = 0) {
  return Member{PeerId(std::string(peer)), UserId(std::string("u-") + peer), "", "{}", home};
}

TEST(RoomName, AcceptsTheDocumentedAlphabet) {
  EXPECT_TRUE(valid_room_name("a"));
  EXPECT_TRUE(valid_room_name("Room_1.test-2"));
  EXPECT_TRUE(valid_room_name(std::string(64, 'x')));
}

TEST(RoomName, RejectsEmptyLongAndOtherCharacters) {
  EXPECT_FALSE(valid_room_name(""));
  EXPECT_FALSE(valid_room_name(std::string(65, 'x')));
  for (const char* bad : {"a b", "a/b", "é", "a:b", "a\nb", "a*", "..\\"})
    EXPECT_FALSE(valid_room_name(bad)) << bad;
}

TEST(RoomDirectory, FirstJoinCreatesTheRoomAndLastLeaveRemovesIt) {
  RoomDirectory d;
  const RoomId r("r");
  EXPECT_EQ(d.find(r), nullptr);
  ASSERT_EQ(d.join(r, member("a")), JoinStatus::ok);
  ASSERT_NE(d.find(r), nullptr);
  EXPECT_EQ(d.room_count(), 1u);
  ASSERT_EQ(d.join(r, member("b")), JoinStatus::ok);
  EXPECT_EQ(d.peer_count(), 2u);
  EXPECT_TRUE(d.leave(r, PeerId("a")));
  EXPECT_NE(d.find(r), nullptr);
  EXPECT_TRUE(d.leave(r, PeerId("b")));
  EXPECT_EQ(d.find(r), nullptr);
  EXPECT_EQ(d.room_count(), 0u);
  EXPECT_EQ(d.peer_count(), 0u);
}

TEST(RoomDirectory, MembersKeepJoinOrderAndTheNewcomerIsLast) {
  RoomDirectory d;
  const RoomId r("r");
  for (const char* p : {"a", "b", "c"}) ASSERT_EQ(d.join(r, member(p)), JoinStatus::ok);
  const Room* room = d.find(r);
  ASSERT_EQ(room->members.size(), 3u);
  EXPECT_EQ(room->members[0].peer, PeerId("a"));
  EXPECT_EQ(room->members[2].peer, PeerId("c"));
}

TEST(RoomDirectory, JoiningTwiceIsRefused) {
  RoomDirectory d;
  const RoomId r("r");
  ASSERT_EQ(d.join(r, member("a")), JoinStatus::ok);
  EXPECT_EQ(d.join(r, member("a")), JoinStatus::already_joined);
  EXPECT_EQ(d.peer_count(), 1u);
}

TEST(RoomDirectory, CapIsEnforcedPerRoom) {
  RoomDirectory d(RoomLimits{2});
  const RoomId r("r"), other("o");
  ASSERT_EQ(d.join(r, member("a")), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("b")), JoinStatus::ok);
  EXPECT_EQ(d.join(r, member("c")), JoinStatus::room_full);
  EXPECT_EQ(d.join(other, member("c")), JoinStatus::ok);
  ASSERT_TRUE(d.leave(r, PeerId("a")));
  EXPECT_EQ(d.join(r, member("c")), JoinStatus::ok);
}

TEST(RoomDirectory, LeaveOfANonMemberChangesNothing) {
  RoomDirectory d;
  const RoomId r("r");
  EXPECT_FALSE(d.leave(r, PeerId("a")));
  ASSERT_EQ(d.join(r, member("a")), JoinStatus::ok);
  EXPECT_FALSE(d.leave(r, PeerId("b")));
  EXPECT_FALSE(d.leave(RoomId("x"), PeerId("a")));
  EXPECT_EQ(d.peer_count(), 1u);
}

TEST(RoomDirectory, UpdateReplacesMetadataOfMembersOnly) {
  RoomDirectory d;
  const RoomId r("r");
  ASSERT_EQ(d.join(r, member("a")), JoinStatus::ok);
  EXPECT_TRUE(d.update(r, PeerId("a"), R"({"mic":false})"));
  EXPECT_EQ(d.find(r)->find(PeerId("a"))->metadata, R"({"mic":false})");
  EXPECT_FALSE(d.update(r, PeerId("b"), "{}"));
  EXPECT_FALSE(d.update(RoomId("x"), PeerId("a"), "{}"));
}

TEST(RoomDirectory, KeepsWhereEachMemberLives) {
  RoomDirectory d;
  const RoomId r("r");
  ASSERT_EQ(d.join(r, member("a", 3)), JoinStatus::ok);
  EXPECT_EQ(d.find(r)->find(PeerId("a"))->home, 3u);
}

}  // namespace
}  // namespace sb::rtc
