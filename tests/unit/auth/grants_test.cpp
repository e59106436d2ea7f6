#include "auth/grants.h"

#include <gtest/gtest.h>

namespace sb::auth {
namespace {

Grants with_rooms(std::vector<std::string> rooms) {
  Grants g;
  g.rooms = std::move(rooms);
  return g;
}

TEST(Grants, DefaultsAllowMediaButNoRoomAndNoAdmin) {
  const Grants g;
  EXPECT_TRUE(g.rooms.empty());
  EXPECT_TRUE(g.publish);
  EXPECT_TRUE(g.subscribe);
  EXPECT_TRUE(g.data);
  EXPECT_FALSE(g.admin);
  EXPECT_FALSE(g.may_join("lobby"));
  EXPECT_FALSE(g.may_join(""));
}

TEST(Grants, ExactNameMatchesOnlyItself) {
  const Grants g = with_rooms({"lobby", "room-1"});
  EXPECT_TRUE(g.may_join("lobby"));
  EXPECT_TRUE(g.may_join("room-1"));
  EXPECT_FALSE(g.may_join("lobby2"));
  EXPECT_FALSE(g.may_join("lobb"));
  EXPECT_FALSE(g.may_join("Lobby"));
  EXPECT_FALSE(g.may_join("room-12"));
  EXPECT_FALSE(g.may_join(""));
}

TEST(Grants, StarMatchesEveryRoom) {
  const Grants g = with_rooms({"*"});
  EXPECT_TRUE(g.may_join("lobby"));
  EXPECT_TRUE(g.may_join("anything-at-all"));
  EXPECT_TRUE(g.may_join(""));
}

TEST(Grants, PrefixPatternMatchesRoomsStartingWithPrefix) {
  const Grants g = with_rooms({"team-*"});
  EXPECT_TRUE(g.may_join("team-a"));
  EXPECT_TRUE(g.may_join("team-"));
  EXPECT_TRUE(g.may_join("team-alpha-standup"));
  EXPECT_FALSE(g.may_join("team"));
  EXPECT_FALSE(g.may_join("teams-a"));
  EXPECT_FALSE(g.may_join("my-team-a"));
  EXPECT_FALSE(g.may_join("TEAM-a"));
}

TEST(Grants, OnlyATrailingStarIsAWildcard) {
  const Grants g = with_rooms({"a*b", "c*d*"});
  EXPECT_TRUE(g.may_join("a*b"));
  EXPECT_FALSE(g.may_join("axb"));
  EXPECT_FALSE(g.may_join("a*bc"));
  EXPECT_TRUE(g.may_join("c*d"));
  EXPECT_TRUE(g.may_join("c*dz"));
  EXPECT_FALSE(g.may_join("cxdz"));
}

TEST(Grants, AnyMatchingEntrySuffices) {
  const Grants g = with_rooms({"lobby", "team-*", "exact"});
  EXPECT_TRUE(g.may_join("lobby"));
  EXPECT_TRUE(g.may_join("team-x"));
  EXPECT_TRUE(g.may_join("exact"));
  EXPECT_FALSE(g.may_join("other"));
}

TEST(Grants, EmptyPatternMatchesOnlyEmptyName) {
  const Grants g = with_rooms({""});
  EXPECT_TRUE(g.may_join(""));
  EXPECT_FALSE(g.may_join("lobby"));
}

}  // namespace
}  // namespace sb::auth
