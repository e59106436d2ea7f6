#include "service/audit_log.h"

#include <gtest/gtest.h>

#include "service/user_cli.h"

namespace sb::service {

TEST(AuditLine, FieldsInOrderEmptyOnesLeftOut) {
  AuditEvent e;
  e.event = "login";
  e.outcome = "failure";
  e.reason = "invalid-credentials";
  e.user = "al\"ice";
  e.remote = "10.0.0.7";
  EXPECT_EQ(audit_line(e, 1767323045678),
            R"({"time":"2026-01-02T03:04:05.678Z","event":"login","outcome":"failure",)"
            R"("reason":"invalid-credentials","user":"al\"ice","remote":"10.0.0.7"})");
}

TEST(AuditLine, RoomPeerAndDetail) {
  AuditEvent e;
  e.event = "join";
  e.outcome = "denied";
  e.peer = "p1";
  e.room = "r";
  e.detail = "x";
  EXPECT_EQ(
      audit_line(e, 5),
      R"({"time":"1970-01-01T00:00:00.005Z","event":"join","outcome":"denied","peer":"p1","room":"r","detail":"x"})");
}

TEST(UserCli, SplitRooms) {
  EXPECT_EQ(split_rooms("a, b ,,team-*"), (std::vector<std::string>{"a", "b", "team-*"}));
  EXPECT_TRUE(split_rooms("").empty());
}

}  // namespace sb::service
