// The admin CLI's output helpers (the commands run against a real server in
// tests/integration/cli.test.mjs).
#include "service/admin_cli.h"

#include <gtest/gtest.h>

namespace sb::service {
namespace {

TEST(AdminCliTable, AlignsColumnsAndTrimsTrailingSpace) {
  EXPECT_EQ(format_table({"ROOM", "PEERS", "META"}, {{"lobby", "2/50", "{}"}, {"a", "10/50", ""}}),
            "ROOM   PEERS  META\n"
            "lobby  2/50   {}\n"
            "a      10/50\n");
}

TEST(AdminCliTable, HeaderOnlyWhenThereAreNoRows) {
  EXPECT_EQ(format_table({"PEER", "USER"}, {}), "PEER  USER\n");
}

TEST(AdminCliTime, IsUtc) {
  EXPECT_EQ(format_time(0), "1970-01-01 00:00:00Z");
  EXPECT_EQ(format_time(1700000000), "2023-11-14 22:13:20Z");
}

}  // namespace
}  // namespace sb::service
