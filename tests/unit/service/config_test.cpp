#include "service/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace sb::service {
namespace {

TEST(ParseListen, HostPortForms) {
  std::string h;
  uint16_t p = 0;
  ASSERT_TRUE(parse_listen("127.0.0.1:8080", h, p));
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(p, 8080);
  ASSERT_TRUE(parse_listen("[::1]:0", h, p));
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, 0);
  ASSERT_TRUE(parse_listen(":9000", h, p));
  EXPECT_EQ(h, "0.0.0.0");
  for (const char* bad : {"", "8080", "host:", "h:99999", "h:12a", "[::1]8080", "[::1"})
    EXPECT_FALSE(parse_listen(bad, h, p)) << bad;
}

class LoadConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"SWITCHBOARD_CONFIG", "SWITCHBOARD_LISTEN", "SWITCHBOARD_JWT_HS256_SECRET",
                          "SWITCHBOARD_LOG_FORMAT", "SWITCHBOARD_DEV", "SWITCHBOARD_WEB_ROOT"})
      unsetenv(v);
    dir_ = std::filesystem::temp_directory_path() / ("sb-config-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    unsetenv("SWITCHBOARD_JWT_HS256_SECRET");
    unsetenv("SWITCHBOARD_LISTEN");
  }
  std::string write(const std::string& text) {
    auto p = dir_ / "c.toml";
    std::ofstream(p) << text;
    return p.string();
  }
  std::optional<Config> load(std::vector<std::string> args, int& code) {
    args.insert(args.begin(), "switchboard");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return load_config(static_cast<int>(argv.size()), argv.data(), code);
  }
  std::filesystem::path dir_;
};

TEST_F(LoadConfig, Defaults) {
  int code = -1;
  auto c = load({}, code);
  ASSERT_TRUE(c);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->heartbeat_s, 20u);
  EXPECT_EQ(c->hello_timeout_s, 10u);
  EXPECT_EQ(c->max_frame_bytes, 65536u);
  EXPECT_EQ(c->max_room_peers, 50u);
  EXPECT_FALSE(c->dev);
}

TEST_F(LoadConfig, FileThenEnvironmentThenFlags) {
  const std::string file = write(R"(
listen = "127.0.0.1:1111"
log_format = "json"
dev = true
[jwt]
hs256_secret = "from-file"
audience = "aud-file"
public_keys = ["a.pem", "b.pem"]
[limits]
heartbeat_s = 7
max_room_peers = 3
)");
  setenv("SWITCHBOARD_JWT_HS256_SECRET", "from-env", 1);
  setenv("SWITCHBOARD_LISTEN", "127.0.0.1:2222", 1);
  int code = -1;
  auto c = load({"--config", file, "--listen", "127.0.0.1:3333", "--max-room-peers", "9"}, code);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->listen_port, 3333);             // flag beats env and file
  EXPECT_EQ(c->jwt_hs256_secret, "from-env");  // env beats file
  EXPECT_EQ(c->jwt_audience, "aud-file");      // file beats default
  EXPECT_EQ(c->log_format, "json");
  EXPECT_TRUE(c->dev);
  EXPECT_EQ(c->heartbeat_s, 7u);
  EXPECT_EQ(c->max_room_peers, 9u);
  EXPECT_EQ(c->jwt_public_key_files, (std::vector<std::string>{"a.pem", "b.pem"}));
}

TEST_F(LoadConfig, EnvironmentListenWhenNoFlag) {
  setenv("SWITCHBOARD_LISTEN", "127.0.0.1:2222", 1);
  int code = -1;
  auto c = load({}, code);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->listen_port, 2222);
}

TEST_F(LoadConfig, TheShippedExampleFileLoadsWithTheDefaults) {
  int code = -1;
  auto c = load({"--config", SWITCHBOARD_SOURCE_DIR "/deploy/switchboard.example.toml"}, code);
  ASSERT_TRUE(c) << code;
  const Config d;
  EXPECT_EQ(c->listen_port, d.listen_port);
  EXPECT_EQ(c->heartbeat_s, d.heartbeat_s);
  EXPECT_EQ(c->max_msgs_per_s, d.max_msgs_per_s);
  EXPECT_EQ(c->max_bytes_per_s, d.max_bytes_per_s);
  EXPECT_EQ(c->max_conns_per_ip, d.max_conns_per_ip);
  EXPECT_EQ(c->max_queued_bytes, d.max_queued_bytes);
  EXPECT_EQ(c->upgrade_timeout_s, d.upgrade_timeout_s);
  EXPECT_EQ(c->resume_window_s, d.resume_window_s);
  EXPECT_EQ(c->resume_buffer_messages, d.resume_buffer_messages);
  EXPECT_EQ(c->resume_buffer_bytes, d.resume_buffer_bytes);
  EXPECT_EQ(c->drain_spread_s, d.drain_spread_s);
}

TEST_F(LoadConfig, ResumeAndDrainSettings) {
  int code = -1;
  auto d = load({}, code);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->resume_window_s, 30u);
  EXPECT_EQ(d->resume_buffer_messages, 1000u);
  EXPECT_EQ(d->resume_buffer_bytes, 1024u * 1024u);
  EXPECT_EQ(d->drain_spread_s, 5u);
  const std::string file = write(R"(
[resume]
window_s = 10
buffer_messages = 50
buffer_bytes = 65536
[limits]
drain_spread_s = 2
)");
  setenv("SWITCHBOARD_RESUME_WINDOW_S", "20", 1);
  setenv("SWITCHBOARD_DRAIN_SPREAD_S", "3", 1);
  auto c = load({"--config", file, "--resume-buffer-messages", "70"}, code);
  unsetenv("SWITCHBOARD_RESUME_WINDOW_S");
  unsetenv("SWITCHBOARD_DRAIN_SPREAD_S");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->resume_window_s, 20u);         // env beats file
  EXPECT_EQ(c->resume_buffer_messages, 70u);  // flag beats file
  EXPECT_EQ(c->resume_buffer_bytes, 65536u);  // file beats default
  EXPECT_EQ(c->drain_spread_s, 3u);
  auto off = load({"--resume-window-s", "0", "--drain-spread-s", "0"}, code);
  ASSERT_TRUE(off);
  EXPECT_EQ(off->resume_window_s, 0u);
  EXPECT_EQ(off->drain_spread_s, 0u);
  setenv("SWITCHBOARD_RESUME_BUFFER_BYTES", "lots", 1);
  EXPECT_FALSE(load({}, code));
  EXPECT_EQ(code, 2);
  unsetenv("SWITCHBOARD_RESUME_BUFFER_BYTES");
  EXPECT_FALSE(load({"--resume-buffer-messages", "0"}, code));
}

TEST_F(LoadConfig, UnknownKeyInFileIsAnError) {
  int code = -1;
  EXPECT_FALSE(load({"--config", write("lisen = \"x\"\n")}, code));
  EXPECT_EQ(code, 2);
}

TEST_F(LoadConfig, BadFlagsAreErrors) {
  int code = -1;
  EXPECT_FALSE(load({"--listen", "nonsense"}, code));
  EXPECT_NE(code, 0);
  EXPECT_FALSE(load({"--log-format", "xml"}, code));
  EXPECT_NE(code, 0);
  EXPECT_FALSE(load({"--heartbeat-s", "0"}, code));
  EXPECT_NE(code, 0);
}

TEST_F(LoadConfig, NodeIdIsANameRedisKeysCanCarry) {
  int code = -1;
  auto ok = load({"--node-id", "eu-1.node_2"}, code);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->node_id, "eu-1.node_2");
  for (const char* bad : {"two words", "quote\"d", "brace{1}", "n\xc3\xa9"}) {
    code = -1;
    EXPECT_FALSE(load({"--node-id", bad}, code)) << bad;
    EXPECT_EQ(code, 2) << bad;
  }
  EXPECT_FALSE(load({"--node-id", std::string(65, 'n')}, code));
}

TEST_F(LoadConfig, IceServersFromTomlAndFlags) {
  int code = -1;
  auto c = load({"--config", write(R"(
[ice]
stun_urls = ["stun:s.example.org"]
turn_ttl_s = 600
turn_secret = "fallback"
[[ice.turn]]
urls = ["turn:a.example.org:3478?transport=udp", "turns:a.example.org:5349"]
secret = "a-secret"
[[ice.turn]]
urls = ["turn:b.example.org"]
)")},
                code);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->stun_urls, (std::vector<std::string>{"stun:s.example.org"}));
  EXPECT_EQ(c->turn_ttl_s, 600u);
  ASSERT_EQ(c->turn_servers.size(), 2u);
  EXPECT_EQ(c->turn_servers[0].urls.size(), 2u);
  EXPECT_EQ(c->turn_servers[0].secret, "a-secret");
  EXPECT_EQ(c->turn_servers[1].secret, "fallback");

  // Flags replace the file's servers: one per flag, urls comma-separated.
  c = load({"--turn-url", "turn:x:3478,turns:x:5349", "--turn-url", "turn:y", "--turn-secret", "S"}, code);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->turn_servers.size(), 2u);
  EXPECT_EQ(c->turn_servers[0].urls, (std::vector<std::string>{"turn:x:3478", "turns:x:5349"}));
  EXPECT_EQ(c->turn_servers[1].secret, "S");

  EXPECT_FALSE(load({"--turn-url", "turn:x"}, code)) << "a TURN server needs a secret";
  EXPECT_EQ(code, 2);
  EXPECT_FALSE(load({"--config", write("[[ice.turn]]\nsecret = \"s\"\n")}, code)) << "and urls";
}

TEST_F(LoadConfig, OidcGrantRules) {
  int code = -1;
  auto c = load({"--config", write(R"(
[oidc]
issuer = "https://id.example.com"
audience = "switchboard"
refetch_interval_s = 5
[[oidc.grants]]
claim = "groups"
value = "teachers"
rooms = ["class-*"]
publish = true
)"),
                 "--oidc-audience", "api"},
                code);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->oidc_issuer, "https://id.example.com");
  EXPECT_EQ(c->oidc_audience, "api");
  EXPECT_EQ(c->oidc_refetch_interval_s, 5u);
  ASSERT_EQ(c->oidc_grants.size(), 1u);
  EXPECT_EQ(c->oidc_grants[0].rooms, (std::vector<std::string>{"class-*"}));
  EXPECT_EQ(c->oidc_grants[0].publish, std::optional<bool>(true));
  EXPECT_FALSE(c->oidc_grants[0].admin.has_value());

  EXPECT_FALSE(
      load({"--config", write("[[oidc.grants]]\nclaim = \"scope\"\nvalue = \"x\"\nadmn = true\n")}, code))
      << "unknown key";
  EXPECT_FALSE(load({"--config", write("[[oidc.grants]]\nclaim = \"scope\"\nadmin = true\n")}, code))
      << "no value";
  EXPECT_FALSE(
      load({"--config", write("[[oidc.grants]]\nclaim = \"scope\"\nvalue = \"x\"\nadmin = \"yes\"\n")}, code))
      << "a flag that is not a boolean";
}

}  // namespace
}  // namespace sb::service

namespace sb::service {

TEST_F(LoadConfig, IdentitySettings) {
  const std::string file = write(R"(
[identity]
user_db = "users.db"
token_signing_key = "k.pem"
token_ttl_s = 600
token_max_ttl_s = 1200
login_failure_burst = 3
login_failure_refill_s = 30
[audit]
log = "stdout"
)");
  int code = -1;
  auto c = load({"--config", file, "--token-ttl-s", "900", "--audit-log", "/var/log/sb-audit.log"}, code);
  ASSERT_TRUE(c) << code;
  EXPECT_EQ(c->user_db, "users.db");
  EXPECT_EQ(c->token_signing_key_file, "k.pem");
  EXPECT_EQ(c->token_ttl_s, 900u);  // flag beats file
  EXPECT_EQ(c->token_max_ttl_s, 1200u);
  EXPECT_EQ(c->login_failure_burst, 3u);
  EXPECT_EQ(c->login_failure_refill_s, 30u);
  EXPECT_EQ(c->audit_log, "/var/log/sb-audit.log");
  const Config d;
  EXPECT_EQ(d.audit_log, "off");
  EXPECT_EQ(d.token_ttl_s, 3600u);
  EXPECT_EQ(d.token_max_ttl_s, 86400u);
}

TEST_F(LoadConfig, UserDbAndAuthBackendExcludeEachOther) {
  int code = -1;
  EXPECT_FALSE(load({"--user-db", "u.db", "--auth-backend-url", "http://127.0.0.1:9/"}, code));
  EXPECT_EQ(code, 2);
}

}  // namespace sb::service
