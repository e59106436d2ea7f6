// Who may use the admin API: the API key (constant-time) or an admin token.
#include "service/admin_auth.h"

#include <gtest/gtest.h>

#include <ctime>

namespace sb::service {
namespace {

const std::string kSecret = "admin-test-secret";

std::string token(bool admin, int64_t ttl = 600) {
  auth::TokenSpec spec;
  spec.user = UserId("op");
  spec.grants.admin = admin;
  spec.issued_at = std::time(nullptr);
  spec.expires_at = spec.issued_at + ttl;
  return auth::sign_hs256(kSecret, spec);
}

class AdminAuthTest : public ::testing::Test {
 protected:
  auth::JwtVerifier verifier_{auth::VerifierConfig{kSecret, {}, "", "", 30}};
  int64_t now_ = std::time(nullptr);
};

TEST_F(AdminAuthTest, TheKeyOrAnAdminTokenIsAccepted) {
  AdminAuth a("k-123", &verifier_);
  EXPECT_EQ(a.check("Bearer k-123", now_).result, AdminAuthResult::ok);
  EXPECT_EQ(a.check("bearer   k-123  ", now_).result, AdminAuthResult::ok);
  EXPECT_EQ(a.check("Bearer " + token(true), now_).result, AdminAuthResult::ok);
}

TEST_F(AdminAuthTest, MissingOrOtherSchemesAreMissing) {
  AdminAuth a("k", &verifier_);
  EXPECT_EQ(a.check("", now_).result, AdminAuthResult::missing);
  EXPECT_EQ(a.check("Basic azpr", now_).result, AdminAuthResult::missing);
  EXPECT_EQ(a.check("Bearer", now_).result, AdminAuthResult::missing);
  EXPECT_EQ(a.check("Bearer   ", now_).result, AdminAuthResult::missing);
}

TEST_F(AdminAuthTest, AWrongKeyOrABadTokenIsInvalid) {
  AdminAuth a("k-123", &verifier_);
  EXPECT_EQ(a.check("Bearer k-124", now_).result, AdminAuthResult::invalid);
  EXPECT_EQ(a.check("Bearer k-12", now_).result, AdminAuthResult::invalid);
  EXPECT_EQ(a.check("Bearer k-1234", now_).result, AdminAuthResult::invalid);
  auto expired = a.check("Bearer " + token(true, -3600), now_);
  EXPECT_EQ(expired.result, AdminAuthResult::invalid);
  EXPECT_NE(expired.detail.find("expired"), std::string::npos);
}

TEST_F(AdminAuthTest, AValidTokenWithoutTheAdminGrantIsForbidden) {
  AdminAuth a("", &verifier_);
  EXPECT_EQ(a.check("Bearer " + token(false), now_).result, AdminAuthResult::forbidden);
}

TEST_F(AdminAuthTest, WithoutAKeyConfiguredNoStringIsTheKey) {
  AdminAuth a("", &verifier_);
  EXPECT_EQ(a.check("Bearer x", now_).result, AdminAuthResult::invalid);
  AdminAuth keyless_no_jwt("", nullptr);
  EXPECT_EQ(keyless_no_jwt.check("Bearer x", now_).result, AdminAuthResult::invalid);
}

TEST(ConstantTimeEqual, ComparesContentOfAnyLength) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace sb::service
