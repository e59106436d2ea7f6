// How a room created by a join is set up: named-room entries, the token's
// room_config claim, and their configuration-file form.
#include "service/room_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "service/config.h"

namespace sb::service {
namespace {

const rtc::RoomLimits kLimits{50, 10000};

TEST(RoomConfigClaim, AbsentMeansNoConfigAndNoError) {
  auto r = parse_room_config("", kLimits);
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(r.error.empty());
}

TEST(RoomConfigClaim, ReadsKindMaxPeersAndMetadata) {
  auto r =
      parse_room_config(R"({"kind":"broadcast","max_peers":5000,"metadata":{"title":"Launch"}})", kLimits);
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->kind, "broadcast");
  EXPECT_EQ(r.config->max_peers, 5000u);
  EXPECT_EQ(r.config->metadata, R"({"title":"Launch"})");
  r = parse_room_config("{}", kLimits);
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->kind, "meeting");
  EXPECT_EQ(r.config->max_peers, 0u) << "0: the cap of the kind";
}

TEST(RoomConfigClaim, MaxPeersIsLoweredToTheCapOfTheKind) {
  EXPECT_EQ(parse_room_config(R"({"max_peers":51})", kLimits).config->max_peers, 50u);
  EXPECT_EQ(parse_room_config(R"({"kind":"broadcast","max_peers":20000})", kLimits).config->max_peers,
            10000u);
  EXPECT_EQ(parse_room_config(R"({"kind":"broadcast","max_peers":18446744073709551615})", kLimits)
                .config->max_peers,
            10000u);
}

TEST(RoomConfigClaim, EachProblemIsNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"kind":"webinar"})", "room_config.kind"},
      {R"({"kind":1})", "room_config.kind"},
      {R"({"max_peers":0})", "room_config.max_peers"},
      {R"({"max_peers":-3})", "room_config.max_peers"},
      {R"({"max_peers":2.5})", "room_config.max_peers"},
      {R"({"max_peers":"9"})", "room_config.max_peers"},
      {R"({"metadata":[1]})", "room_config.metadata"},
      {R"({"kinds":"broadcast"})", "unknown member 'kinds'"},
      {R"([1])", "not a JSON object"},
  };
  for (auto [text, what] : cases) {
    auto r = parse_room_config(text, kLimits);
    EXPECT_FALSE(r.config) << text;
    EXPECT_NE(r.error.find(what), std::string::npos) << text << " -> " << r.error;
  }
  const std::string big = R"({"metadata":{"x":")" + std::string(5000, 'a') + R"("}})";
  EXPECT_NE(parse_room_config(big, kLimits).error.find("4096"), std::string::npos);
}

TEST(NamedRooms, ExactNameBeatsPatternsAndLongerPatternsBeatShorterOnes) {
  const std::vector<NamedRoom> rooms = {{"*", "meeting", 10},
                                        {"live-*", "broadcast", 0},
                                        {"live-big-*", "broadcast", 9000},
                                        {"live-x", "meeting", 3}};
  EXPECT_EQ(match_named_room(rooms, "live-x")->max_peers, 3u);
  EXPECT_EQ(match_named_room(rooms, "live-big-1")->max_peers, 9000u);
  EXPECT_EQ(match_named_room(rooms, "live-1")->kind, "broadcast");
  EXPECT_EQ(match_named_room(rooms, "other")->max_peers, 10u);
  EXPECT_EQ(match_named_room({{"a", "meeting", 0}}, "b"), nullptr);
}

TEST(NamedRooms, TheServersEntryWinsOverTheTokenAndTheTokenOverTheDefaults) {
  rtc::RoomConfig token;
  token.kind = "broadcast";
  token.max_peers = 7;
  const std::vector<NamedRoom> rooms = {{"town-hall", "meeting", 20}};
  auto c = room_config_for("town-hall", rooms, token);
  EXPECT_EQ(c.kind, "meeting");
  EXPECT_EQ(c.max_peers, 20u);
  c = room_config_for("other", rooms, token);
  EXPECT_EQ(c.kind, "broadcast");
  EXPECT_EQ(c.max_peers, 7u);
  c = room_config_for("other", rooms, std::nullopt);
  EXPECT_EQ(c.kind, "meeting");
  EXPECT_EQ(c.max_peers, 0u);
}

TEST(NamedRooms, EntriesAreChecked) {
  EXPECT_EQ(check_named_room({"ok-name", "broadcast", 0}), "");
  EXPECT_EQ(check_named_room({"live-*", "meeting", 0}), "");
  EXPECT_EQ(check_named_room({"*", "meeting", 0}), "");
  EXPECT_NE(check_named_room({"a b", "meeting", 0}), "");
  EXPECT_NE(check_named_room({"a*b", "meeting", 0}), "");
  EXPECT_NE(check_named_room({"x", "webinar", 0}), "");
}

class RoomsInConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"SWITCHBOARD_CONFIG", "SWITCHBOARD_MAX_BROADCAST_PEERS"}) unsetenv(v);
    dir_ = std::filesystem::temp_directory_path() / ("sb-rooms-config-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    unsetenv("SWITCHBOARD_MAX_BROADCAST_PEERS");
  }
  std::optional<Config> load(const std::string& toml, std::vector<std::string> args, int& code) {
    auto p = dir_ / "c.toml";
    std::ofstream(p) << toml;
    args.insert(args.begin(), {"switchboard", "--config", p.string()});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return load_config(static_cast<int>(argv.size()), argv.data(), code);
  }
  std::filesystem::path dir_;
};

TEST_F(RoomsInConfigFile, NamedRoomsAndTheBroadcastCap) {
  int code = -1;
  auto c = load(R"(
[limits]
max_broadcast_peers = 2000
[rooms.town-hall]
kind = "broadcast"
max_peers = 500
[rooms."team-*"]
kind = "meeting"
)",
                {}, code);
  ASSERT_TRUE(c) << code;
  EXPECT_EQ(c->max_broadcast_peers, 2000u);
  ASSERT_EQ(c->named_rooms.size(), 2u);
  const NamedRoom* th = match_named_room(c->named_rooms, "town-hall");
  ASSERT_NE(th, nullptr);
  EXPECT_EQ(th->kind, "broadcast");
  EXPECT_EQ(th->max_peers, 500u);
  EXPECT_EQ(match_named_room(c->named_rooms, "team-a")->kind, "meeting");
}

TEST_F(RoomsInConfigFile, TheFlagBeatsTheEnvironmentWhichBeatsTheFile) {
  int code = -1;
  const std::string file = "[limits]\nmax_broadcast_peers = 2000\n";
  EXPECT_EQ(load(file, {}, code)->max_broadcast_peers, 2000u);
  setenv("SWITCHBOARD_MAX_BROADCAST_PEERS", "3000", 1);
  EXPECT_EQ(load(file, {}, code)->max_broadcast_peers, 3000u);
  EXPECT_EQ(load(file, {"--max-broadcast-peers", "4000"}, code)->max_broadcast_peers, 4000u);
  EXPECT_EQ(load("", {}, code)->max_broadcast_peers, 3000u);
  unsetenv("SWITCHBOARD_MAX_BROADCAST_PEERS");
  EXPECT_EQ(load("", {}, code)->max_broadcast_peers, 10000u) << "the default";
}

TEST_F(RoomsInConfigFile, BadEntriesAreErrors) {
  for (const char* bad :
       {"[rooms.x]\nkind = \"webinar\"\n", "[rooms.x]\nmax_peers = 0\n", "[rooms.x]\ncolour = \"red\"\n",
        "[rooms.\"a b\"]\nkind = \"meeting\"\n", "rooms = 3\n", "[limits]\nmax_broadcast_peers = 0\n"}) {
    int code = -1;
    EXPECT_FALSE(load(bad, {}, code)) << bad;
    EXPECT_EQ(code, 2) << bad;
  }
  int code = -1;
  setenv("SWITCHBOARD_MAX_BROADCAST_PEERS", "lots", 1);
  EXPECT_FALSE(load("", {}, code));
  EXPECT_EQ(code, 2);
}

}  // namespace
}  // namespace sb::service
