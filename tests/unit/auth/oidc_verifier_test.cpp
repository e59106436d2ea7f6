#include "auth/oidc_verifier.h"

#include <gtest/gtest.h>

namespace sb::auth {
namespace {

std::vector<GrantRule> rules() {
  GrantRule admin{"scope", "switchboard.admin", {}, {}, {}, {}, true};
  GrantRule teachers{"groups", "teachers", {"class-*"}, true, {}, {}, {}};
  GrantRule students{"groups", "students", {"class-*", "hall"}, false, {}, {}, {}};
  GrantRule staff{"realm_access.roles", "staff", {"staff-room"}, {}, {}, {}, {}};
  return {admin, teachers, students, staff};
}

TEST(OidcGrants, NoMatchingRuleGivesDefaultsAndNoRoom) {
  const Grants g = map_grants(rules(), R"({"sub":"x","scope":"openid profile"})");
  EXPECT_TRUE(g.rooms.empty());
  EXPECT_TRUE(g.publish);
  EXPECT_FALSE(g.admin);
}

TEST(OidcGrants, ScopeIsASpaceSeparatedList) {
  EXPECT_TRUE(map_grants(rules(), R"({"scope":"openid switchboard.admin email"})").admin);
  EXPECT_TRUE(map_grants(rules(), R"({"scope":"switchboard.admin"})").admin);
  EXPECT_FALSE(map_grants(rules(), R"({"scope":"switchboard.administrator"})").admin);
  EXPECT_FALSE(map_grants(rules(), R"({"scope":"xswitchboard.admin"})").admin);
}

TEST(OidcGrants, ArraysMatchWholeElements) {
  const Grants g = map_grants(rules(), R"({"groups":["teachers"]})");
  EXPECT_EQ(g.rooms, (std::vector<std::string>{"class-*"}));
  EXPECT_TRUE(g.publish);
  EXPECT_TRUE(map_grants(rules(), R"({"groups":["teachers-aides"]})").rooms.empty());
  EXPECT_TRUE(map_grants(rules(), R"({"groups":[1,true,null]})").rooms.empty());
}

TEST(OidcGrants, RulesCombineTrueWins) {
  const Grants student = map_grants(rules(), R"({"groups":["students"]})");
  EXPECT_FALSE(student.publish);
  const Grants both = map_grants(rules(), R"({"groups":["students","teachers"]})");
  EXPECT_TRUE(both.publish);
  EXPECT_EQ(both.rooms, (std::vector<std::string>{"class-*", "class-*", "hall"}));
}

TEST(OidcGrants, DottedClaimsReachIntoObjects) {
  EXPECT_EQ(map_grants(rules(), R"({"realm_access":{"roles":["staff"]}})").rooms,
            (std::vector<std::string>{"staff-room"}));
  EXPECT_TRUE(map_grants(rules(), R"({"realm_access":["staff"]})").rooms.empty());
  EXPECT_TRUE(map_grants(rules(), R"({"realm_access.roles":"nope"})").rooms.empty());
}

TEST(OidcGrants, PeekIssuerReadsThePayloadOnly) {
  // {"alg":"none"}.{"iss":"https://id.example.com"}.
  EXPECT_EQ(peek_issuer("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0."),
            "https://id.example.com");
  EXPECT_EQ(peek_issuer("garbage"), "");
  EXPECT_EQ(peek_issuer("a.b.c"), "");
}

TEST(OidcVerifier, UnknownKidIsReportedSoTheCallerCanRefetch) {
  OidcVerifier v(OidcConfig{"https://id.example.com", "api", 30, {}});
  bool unknown = false;
  // {"alg":"RS256","kid":"k9"}.{"iss":"https://id.example.com"}.AAAA
  const VerifyResult r = v.verify(
      "eyJhbGciOiJSUzI1NiIsImtpZCI6Ims5In0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0.AAAA", 0, &unknown);
  EXPECT_EQ(r.error, TokenError::no_key);
  EXPECT_TRUE(unknown);
  // HS256 is never accepted from a provider.
  // {"alg":"HS256"}.{"iss":"https://id.example.com"}.AAAA
  const VerifyResult h =
      v.verify("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0.AAAA", 0, &unknown);
  EXPECT_EQ(h.error, TokenError::unsupported_alg);
  EXPECT_FALSE(unknown);
}

}  // namespace
}  // namespace sb::auth
