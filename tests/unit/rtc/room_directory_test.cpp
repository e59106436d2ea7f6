#include "rtc/room_directory.h"

#include <gtest/gtest.h>

namespace sb::rtc {
namespace {

Member member(const char* peer, uint32_t home = 0) {
  return Member{PeerId(std::string(peer)), UserId(std::string("u-") + peer), "", "{}", home};
}

// A member record per peer per room: its size is a cost of every connection.
TEST(RoomDirectory, AMemberRecordIs104Bytes) {
  EXPECT_LE(sizeof(Member), 104u);
  const Member m = member("p1", 0);
  EXPECT_TRUE(m.name.empty());
  EXPECT_TRUE(m.node.empty());
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

// Small rooms are searched in order, larger ones through a hash index: every
// member stays findable at its place while a room grows past the threshold and
// shrinks back below it, with leaves from the middle.
TEST(RoomDirectory, FindAndOrderHoldAcrossTheIndexThreshold) {
  RoomDirectory d;
  const RoomId r("r");
  const size_t n = Room::kLinearFind * 2 + 3;
  std::vector<std::string> order;
  auto id = [](const char* prefix, size_t i) {  // (not prefix + to_string: GCC 12 warns falsely)
    std::string s = prefix;
    s += std::to_string(i);
    return s;
  };
  auto check = [&] {
    const Room* room = d.find(r);
    ASSERT_NE(room, nullptr);
    ASSERT_EQ(room->members.size(), order.size());
    for (size_t i = 0; i < order.size(); ++i) {
      EXPECT_EQ(room->members[i].peer.str(), order[i]);
      const Member* m = room->find(PeerId(order[i]));
      ASSERT_NE(m, nullptr) << order[i];
      EXPECT_EQ(m, &room->members[i]);
      EXPECT_EQ(room->position(PeerId(order[i])), i);
    }
    EXPECT_EQ(room->find(PeerId("nobody")), nullptr);
    EXPECT_EQ(room->position(PeerId("nobody")), room->members.size());
  };
  for (size_t i = 0; i < n; ++i) {
    order.push_back(id("p", i));
    ASSERT_EQ(d.join(r, member(order.back().c_str())), JoinStatus::ok);
    check();
    EXPECT_EQ(d.join(r, member(order.front().c_str())), JoinStatus::already_joined);
  }
  EXPECT_NE(d.find(r)->index, nullptr);
  // leave every third from the middle outwards, then the rest from the front
  bool regrown = false;
  while (order.size() > 1) {
    const size_t i = order.size() > 4 ? order.size() / 3 : 0;
    const std::string gone = order[i];
    order.erase(order.begin() + static_cast<std::ptrdiff_t>(i));
    ASSERT_TRUE(d.leave(r, PeerId(gone)));
    EXPECT_FALSE(d.leave(r, PeerId(gone)));
    check();
    EXPECT_EQ(d.find(r)->index == nullptr, order.size() <= Room::kLinearFind);
    if (order.size() == Room::kLinearFind / 2 && !regrown) {  // grow again from here, once
      regrown = true;
      for (int k = 0; k < static_cast<int>(Room::kLinearFind); ++k) {
        order.push_back(id("q", static_cast<size_t>(k)));
        ASSERT_EQ(d.join(r, member(order.back().c_str())), JoinStatus::ok);
        check();
      }
    }
  }
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

TEST(RoomDirectory, RelocateMovesAMemberToAnotherNodeAndLoopInPlace) {
  RoomDirectory d;
  const RoomId r("r");
  ASSERT_EQ(d.join(r, member("a", 3)), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("b", 1)), JoinStatus::ok);
  EXPECT_TRUE(d.relocate(r, PeerId("a"), "n2", 0));
  const Member* a = d.find(r)->find(PeerId("a"));
  EXPECT_EQ(a->node, "n2");
  EXPECT_EQ(a->home, 0u);
  EXPECT_EQ(d.find(r)->members.front().peer, PeerId("a"));  // join order kept
  EXPECT_FALSE(d.relocate(r, PeerId("c"), "n2", 0));
  EXPECT_FALSE(d.relocate(RoomId("x"), PeerId("a"), "n2", 0));
}

TEST(RoomDirectory, AJoinStampsTheRoomsCreationTimeOnce) {
  RoomDirectory d;
  const RoomId r("r");
  ASSERT_EQ(d.join(r, member("a"), 100), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("b"), 200), JoinStatus::ok);
  EXPECT_EQ(d.find(r)->created_at, 100);
  EXPECT_EQ(d.find(r)->kind, "meeting");
  EXPECT_FALSE(d.find(r)->persistent);
}

TEST(RoomDirectory, APreCreatedRoomStaysWhenEmptyUntilClosed) {
  RoomDirectory d(RoomLimits{50});
  const RoomId r("r");
  ASSERT_EQ(d.create(r, RoomConfig{"meeting", 2, R"({"topic":"x"})"}, 42), CreateStatus::ok);
  const Room* room = d.find(r);
  ASSERT_NE(room, nullptr);
  EXPECT_TRUE(room->persistent);
  EXPECT_EQ(room->max_peers, 2u);
  EXPECT_EQ(room->metadata, R"({"topic":"x"})");
  EXPECT_EQ(room->created_at, 42);
  EXPECT_EQ(d.room_count(), 1u);
  EXPECT_EQ(d.peer_count(), 0u);

  ASSERT_EQ(d.join(r, member("a"), 50), JoinStatus::ok);
  EXPECT_EQ(d.find(r)->created_at, 42) << "a join does not re-stamp a pre-created room";
  ASSERT_EQ(d.join(r, member("b")), JoinStatus::ok);
  EXPECT_EQ(d.join(r, member("c")), JoinStatus::room_full) << "the room's own max_peers applies";
  EXPECT_TRUE(d.leave(r, PeerId("a")));
  EXPECT_TRUE(d.leave(r, PeerId("b")));
  ASSERT_NE(d.find(r), nullptr) << "empty, but pre-created: it stays";
  EXPECT_EQ(d.peer_count(), 0u);

  auto closed = d.close(r);
  ASSERT_TRUE(closed.has_value());
  EXPECT_TRUE(closed->members.empty());
  EXPECT_EQ(d.find(r), nullptr);
  EXPECT_EQ(d.room_count(), 0u);
}

TEST(RoomDirectory, CreateRefusesAnExistingRoomAndChangesNothing) {
  RoomDirectory d;
  const RoomId r("r");
  ASSERT_EQ(d.join(r, member("a"), 7), JoinStatus::ok);
  EXPECT_EQ(d.create(r, RoomConfig{"meeting", 5, R"({"x":1})"}, 9), CreateStatus::exists);
  EXPECT_FALSE(d.find(r)->persistent);
  EXPECT_EQ(d.find(r)->metadata, "{}");
  EXPECT_EQ(d.find(r)->created_at, 7);
  ASSERT_EQ(d.create(RoomId("p"), RoomConfig{}, 1), CreateStatus::ok);
  EXPECT_EQ(d.create(RoomId("p"), RoomConfig{}, 2), CreateStatus::exists);
  EXPECT_EQ(d.find(RoomId("p"))->created_at, 1);
}

TEST(RoomDirectory, CreateWithoutMaxPeersUsesTheDefaultLimit) {
  RoomDirectory d(RoomLimits{3});
  ASSERT_EQ(d.create(RoomId("p"), RoomConfig{"meeting", 0, ""}, 1), CreateStatus::ok);
  EXPECT_EQ(d.find(RoomId("p"))->max_peers, 3u);
  EXPECT_EQ(d.find(RoomId("p"))->metadata, "{}");
}

TEST(RoomDirectory, CloseRemovesARoomWithItsMembersAndReturnsThem) {
  RoomDirectory d;
  const RoomId r("r"), other("o");
  ASSERT_EQ(d.join(r, member("a", 1)), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("b", 2)), JoinStatus::ok);
  ASSERT_EQ(d.join(other, member("a", 1)), JoinStatus::ok);
  EXPECT_EQ(d.peer_count(), 3u);
  auto closed = d.close(r);
  ASSERT_TRUE(closed.has_value());
  ASSERT_EQ(closed->members.size(), 2u);
  EXPECT_EQ(closed->members[0].peer, PeerId("a"));
  EXPECT_EQ(closed->members[1].home, 2u);
  EXPECT_EQ(d.find(r), nullptr);
  EXPECT_EQ(d.peer_count(), 1u);
  EXPECT_EQ(d.room_count(), 1u);
  EXPECT_FALSE(d.leave(r, PeerId("a"))) << "members of a closed room are gone from it";
  EXPECT_FALSE(d.close(r).has_value());
  // The name is free again: a new join makes a new, empty room.
  ASSERT_EQ(d.join(r, member("c"), 99), JoinStatus::ok);
  EXPECT_EQ(d.find(r)->members.size(), 1u);
  EXPECT_EQ(d.find(r)->created_at, 99);
}

TEST(RoomDirectory, SetMetadataOnlyOnExistingRooms) {
  RoomDirectory d;
  EXPECT_FALSE(d.set_metadata(RoomId("r"), R"({"a":1})"));
  ASSERT_EQ(d.join(RoomId("r"), member("a")), JoinStatus::ok);
  EXPECT_TRUE(d.set_metadata(RoomId("r"), R"({"a":1})"));
  EXPECT_EQ(d.find(RoomId("r"))->metadata, R"({"a":1})");
}

TEST(RoomDirectory, ListIsSortedByName) {
  RoomDirectory d;
  ASSERT_EQ(d.join(RoomId("b"), member("x")), JoinStatus::ok);
  ASSERT_EQ(d.create(RoomId("c"), RoomConfig{}, 0), CreateStatus::ok);
  ASSERT_EQ(d.join(RoomId("a"), member("y")), JoinStatus::ok);
  auto rooms = d.list();
  ASSERT_EQ(rooms.size(), 3u);
  EXPECT_EQ(rooms[0]->id, RoomId("a"));
  EXPECT_EQ(rooms[1]->id, RoomId("b"));
  EXPECT_EQ(rooms[2]->id, RoomId("c"));
}

TEST(RoomDirectory, AZeroCapOnAPreCreatedRoomDoesNotRemoveIt) {
  RoomDirectory d(RoomLimits{0});
  ASSERT_EQ(d.create(RoomId("p"), RoomConfig{}, 0), CreateStatus::ok);
  EXPECT_EQ(d.join(RoomId("p"), member("a")), JoinStatus::room_full);
  EXPECT_NE(d.find(RoomId("p")), nullptr);
}

}  // namespace
}  // namespace sb::rtc
