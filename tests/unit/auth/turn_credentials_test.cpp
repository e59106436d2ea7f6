#include "auth/turn_credentials.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sb::auth {
namespace {

namespace json = boost::json;

// Expected passwords computed independently with the OpenSSL command line:
//   printf '%s' '1700003600:alice' | openssl dgst -sha1 -hmac 'north-relay-secret' -binary | base64
TEST(TurnCredentials, UsernameIsExpiryColonUser) {
  EXPECT_EQ(turn_username(1700003600, UserId("alice")), "1700003600:alice");
  EXPECT_EQ(turn_username(5, UserId("a:b")), "5:a:b");
}

TEST(TurnCredentials, PasswordIsBase64HmacSha1OfTheUsername) {
  EXPECT_EQ(turn_password("north-relay-secret", "1700003600:alice"), "4+yJ5hFD8+YhOcZVFADwBZ5n1Zg=");
  EXPECT_EQ(turn_password("south", "1700003600:alice"), "fr6fHLw0BtV33kMxYVPDmRQEse4=");
  EXPECT_NE(turn_password("south", "1700003601:alice"), "fr6fHLw0BtV33kMxYVPDmRQEse4=");
}

TEST(TurnCredentials, NothingConfiguredIsAnEmptyList) {
  const IceServers r = ice_servers_for(IceConfig{}, UserId("alice"), 1700000000);
  EXPECT_EQ(r.json, "[]");
  EXPECT_EQ(r.expires_at, 0);
}

TEST(TurnCredentials, StunOnlyHasNoCredentialsAndNoExpiry) {
  IceConfig c;
  c.stun_urls = {"stun:stun.example.org:3478", "stun:[::1]:3478"};
  const IceServers r = ice_servers_for(c, UserId("alice"), 1700000000);
  EXPECT_EQ(r.json, R"([{"urls":["stun:stun.example.org:3478","stun:[::1]:3478"]}])");
  EXPECT_EQ(r.expires_at, 0);
}

TEST(TurnCredentials, OneEntryPerTurnServerWithItsOwnSecret) {
  IceConfig c;
  c.stun_urls = {"stun:s.example.org"};
  c.turn = {
      {{"turn:north.example.org:3478?transport=udp", "turns:north.example.org:5349"}, "north-relay-secret"},
      {{"turn:south.example.org"}, "south"}};
  c.turn_ttl_s = 3600;
  const IceServers r = ice_servers_for(c, UserId("alice"), 1700000000);
  EXPECT_EQ(r.expires_at, 1700003600);
  const json::array a = json::parse(r.json).as_array();
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].as_object().size(), 1u);
  const json::object& north = a[1].as_object();
  EXPECT_EQ(north.at("urls").as_array().size(), 2u);
  EXPECT_EQ(north.at("urls").as_array()[1].as_string(), "turns:north.example.org:5349");
  EXPECT_EQ(north.at("username").as_string(), "1700003600:alice");
  EXPECT_EQ(north.at("credential").as_string(), "4+yJ5hFD8+YhOcZVFADwBZ5n1Zg=");
  const json::object& south = a[2].as_object();
  EXPECT_EQ(south.at("username").as_string(), "1700003600:alice");
  EXPECT_EQ(south.at("credential").as_string(), "fr6fHLw0BtV33kMxYVPDmRQEse4=");
}

TEST(TurnCredentials, UserIdIsEscapedInJson) {
  IceConfig c;
  c.turn = {{{"turn:t"}, "s"}};
  const IceServers r = ice_servers_for(c, UserId("a\"b"), 10);
  const json::array a = json::parse(r.json).as_array();
  EXPECT_EQ(a[0].as_object().at("username").as_string(), "3610:a\"b");
}

}  // namespace
}  // namespace sb::auth
