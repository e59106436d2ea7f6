// Room kinds in the directory: the kind fixed at creation, the per-kind caps,
// the publisher index, and who is in contact with whom.
#include <gtest/gtest.h>

#include <algorithm>

#include "rtc/room_directory.h"

namespace sb::rtc {
namespace {

Member member(const std::string& peer, bool publisher = false) {
  std::string user = "u-";
  user.append(peer);  // (not "u-" + peer: GCC 12 -O3 warns falsely about that, -Wrestrict)
  Member m{PeerId(peer), UserId(user), "", "{}", 0};
  m.publisher = publisher;
  return m;
}

std::vector<std::string> ids(const std::vector<const Member*>& v) {
  std::vector<std::string> out;
  for (const Member* m : v) out.push_back(m->peer.string());
  return out;
}

RoomConfig broadcast(size_t max_peers = 0) {
  RoomConfig c;
  c.kind = "broadcast";
  c.max_peers = max_peers;
  return c;
}

TEST(RoomKind, OnlyMeetingAndBroadcastAreKinds) {
  EXPECT_TRUE(valid_room_kind("meeting"));
  EXPECT_TRUE(valid_room_kind("broadcast"));
  for (const char* bad : {"", "Meeting", "webinar", "broadcast "}) EXPECT_FALSE(valid_room_kind(bad)) << bad;
}

TEST(RoomKind, InContactIsEveryoneInAMeetingAndNotViewerToViewerInABroadcast) {
  for (bool a : {false, true})
    for (bool b : {false, true}) {
      EXPECT_TRUE(in_contact(false, a, b));
      EXPECT_EQ(in_contact(true, a, b), a || b);
      EXPECT_EQ(in_contact(true, a, b), in_contact(true, b, a)) << "symmetric";
    }
}

TEST(RoomKind, TheFirstJoinFixesKindAndCapAndLaterJoinersCannotChangeThem) {
  RoomDirectory d(RoomLimits{3, 5});
  const RoomId r("live");
  ASSERT_EQ(d.join(r, member("p", true), 0, broadcast()), JoinStatus::ok);
  EXPECT_EQ(d.find(r)->kind, "broadcast");
  EXPECT_EQ(d.find(r)->max_peers, 5u) << "the broadcast cap, not the meeting cap";
  RoomConfig meeting;
  meeting.max_peers = 2;
  ASSERT_EQ(d.join(r, member("v1"), 0, meeting), JoinStatus::ok);
  EXPECT_EQ(d.find(r)->kind, "broadcast");
  EXPECT_EQ(d.find(r)->max_peers, 5u);
  for (const char* v : {"v2", "v3", "v4"}) ASSERT_EQ(d.join(r, member(v), 0, meeting), JoinStatus::ok);
  EXPECT_EQ(d.join(r, member("v5"), 0, broadcast(100)), JoinStatus::room_full);
}

TEST(RoomKind, MeetingRoomsKeepTheMeetingCapAndAnExplicitCapWins) {
  RoomDirectory d(RoomLimits{2, 100});
  ASSERT_EQ(d.join(RoomId("m"), member("a")), JoinStatus::ok);
  EXPECT_EQ(d.find(RoomId("m"))->kind, "meeting");
  EXPECT_EQ(d.find(RoomId("m"))->max_peers, 2u);
  ASSERT_EQ(d.join(RoomId("b"), member("a", true), 0, broadcast(7)), JoinStatus::ok);
  EXPECT_EQ(d.find(RoomId("b"))->max_peers, 7u);
  ASSERT_EQ(d.create(RoomId("pre"), broadcast(), 0), CreateStatus::ok);
  EXPECT_EQ(d.find(RoomId("pre"))->max_peers, 100u) << "create() uses the cap of the kind";
}

TEST(RoomKind, AViewerIsInContactWithThePublishersOnlyAndAPublisherWithEveryone) {
  RoomDirectory d;
  const RoomId r("live");
  ASSERT_EQ(d.join(r, member("v1"), 0, broadcast()), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("p1", true)), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("v2")), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("p2", true)), JoinStatus::ok);
  const Room& room = *d.find(r);
  EXPECT_EQ(ids(room.contacts(*room.find(PeerId("v1")))), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(ids(room.contacts(*room.find(PeerId("v2")))), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(ids(room.contacts(*room.find(PeerId("p1")))), (std::vector<std::string>{"v1", "v2", "p2"}));
  EXPECT_EQ(ids(room.contacts(*room.find(PeerId("p2")))), (std::vector<std::string>{"v1", "p1", "v2"}));
}

TEST(RoomKind, InAMeetingEveryoneIsInContactWhateverThePublisherFlag) {
  RoomDirectory d;
  const RoomId r("m");
  ASSERT_EQ(d.join(r, member("a")), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("b", true)), JoinStatus::ok);
  ASSERT_EQ(d.join(r, member("c")), JoinStatus::ok);
  const Room& room = *d.find(r);
  EXPECT_EQ(ids(room.contacts(*room.find(PeerId("a")))), (std::vector<std::string>{"b", "c"}));
}

TEST(RoomKind, OnlyABroadcastRoomListsItsPublishers) {
  RoomDirectory d;
  const RoomId meet("meet"), live("live");
  for (const char* p : {"a", "b", "c"}) {
    ASSERT_EQ(d.join(meet, member(p, /*publisher=*/true), 0), JoinStatus::ok);
    ASSERT_EQ(d.join(live, member(p, /*publisher=*/p[0] != 'b'), 0, broadcast()), JoinStatus::ok);
  }
  // A meeting room needs no list (everyone is in contact) and keeps none...
  EXPECT_TRUE(d.find(meet)->publishers.empty());
  EXPECT_EQ(ids(d.find(meet)->contacts(*d.find(meet)->find(PeerId("b")))),
            (std::vector<std::string>{"a", "c"}));
  // ... and a leave from it has nothing to take out of one.
  ASSERT_TRUE(d.leave(meet, PeerId("a")));
  EXPECT_EQ(ids(d.find(meet)->contacts(*d.find(meet)->find(PeerId("b")))), (std::vector<std::string>{"c"}));
  // A broadcast room lists its publishers: what its viewers are in contact with.
  EXPECT_EQ(d.find(live)->publishers, (std::vector<PeerId>{PeerId("a"), PeerId("c")}));
  EXPECT_EQ(ids(d.find(live)->contacts(*d.find(live)->find(PeerId("b")))),
            (std::vector<std::string>{"a", "c"}));
}

TEST(RoomKind, LeavingKeepsTheIndexAndThePublisherListInStep) {
  RoomDirectory d;
  const RoomId r("live");
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(d.join(r, member(std::string(1, 'm') + std::to_string(i), i % 3 == 0), 0, broadcast()),
              JoinStatus::ok);
  ASSERT_TRUE(d.leave(r, PeerId("m0")));  // a publisher, first in line: every index shifts
  ASSERT_TRUE(d.leave(r, PeerId("m4")));
  EXPECT_FALSE(d.leave(r, PeerId("m4")));
  const Room& room = *d.find(r);
  EXPECT_EQ(room.publishers, (std::vector<PeerId>{PeerId("m3")}));
  for (const Member& m : room.members) {
    ASSERT_NE(room.find(m.peer), nullptr);
    EXPECT_EQ(room.find(m.peer)->peer, m.peer);
  }
  EXPECT_EQ(room.find(PeerId("m0")), nullptr);
  EXPECT_EQ(ids(room.contacts(*room.find(PeerId("m1")))), (std::vector<std::string>{"m3"}));
  EXPECT_EQ(d.join(r, member("m2")), JoinStatus::already_joined);
  EXPECT_EQ(d.peer_count(), 4u);
}

TEST(RoomKind, AViewerJoinCostsPublishersNotMembers) {
  // Not a timing test: the viewer's contact list stays the publishers however
  // many viewers there are, which is what bounds the events per viewer join.
  RoomDirectory d(RoomLimits{50, 10000});
  const RoomId r("big");
  ASSERT_EQ(d.join(r, member("pub", true), 0, broadcast()), JoinStatus::ok);
  for (int i = 0; i < 10000 - 1; ++i) ASSERT_EQ(d.join(r, member(std::to_string(i))), JoinStatus::ok);
  EXPECT_EQ(d.join(r, member("late")), JoinStatus::room_full);
  const Room& room = *d.find(r);
  EXPECT_EQ(room.contacts(room.members.back()).size(), 1u);
  EXPECT_EQ(room.contacts(room.members.front()).size(), 9999u);
}

}  // namespace
}  // namespace sb::rtc
