#include "identity/token_service.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/jwt_verifier.h"

namespace sb::identity {

TEST(TokenRequestParse, AcceptsTheDocumentedShape) {
  std::string err;
  auto r = parse_token_request(R"({"username":"alice","password":"pw","room":"lobby","ttl_s":60})", err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->username, "alice");
  EXPECT_EQ(r->password, "pw");
  EXPECT_EQ(r->room, "lobby");
  EXPECT_EQ(r->ttl_s, 60);
  r = parse_token_request(R"({"username":"alice","password":"pw"})", err);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->room);
  EXPECT_FALSE(r->ttl_s);
}

TEST(TokenRequestParse, RejectsBadBodies) {
  std::string err;
  for (const char* body :
       {"", "[]", R"({"username":"a"})", R"({"password":"p"})", R"({"username":1,"password":"p"})",
        R"({"username":"a","password":"p","ttl_s":0})", R"({"username":"a","password":"p","ttl_s":1.5})",
        R"({"username":"a","password":"p","extra":1})", R"({"username":"a","password":"p","room":""})"}) {
    err.clear();
    EXPECT_FALSE(parse_token_request(body, err)) << body;
    EXPECT_FALSE(err.empty()) << body;
  }
}

namespace {
Principal alice() {
  Principal p;
  p.user = UserId("alice");
  p.name = "Alice";
  p.grants.rooms = {"team-*", "lobby"};
  p.grants.data = false;
  return p;
}
}  // namespace

TEST(IssueToken, Hs256ClaimsTtlAndRoomNarrowing) {
  auto signer = auth::TokenSigner::hs256("secret");
  TokenPolicy pol{"https://issuer", "", 3600, 7200};
  IssuedToken out;
  ASSERT_EQ(issue_token(signer, pol, alice(), std::nullopt, std::nullopt, 1000, out), IssueError::none);
  EXPECT_EQ(out.expires_at, 1000 + 3600);
  auth::JwtVerifier v(auth::VerifierConfig{"secret", {}, "https://issuer", "", 30});
  auto r = v.verify(out.token, 1001);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_EQ(r.identity->user.str(), "alice");
  EXPECT_EQ(r.identity->name, "Alice");
  EXPECT_EQ(r.identity->grants.rooms, (std::vector<std::string>{"team-*", "lobby"}));
  EXPECT_FALSE(r.identity->grants.data);

  ASSERT_EQ(issue_token(signer, pol, alice(), std::string("team-red"), int64_t{999999}, 1000, out),
            IssueError::none);
  EXPECT_EQ(out.expires_at, 1000 + 7200);  // capped
  r = v.verify(out.token, 1001);
  ASSERT_TRUE(r.identity);
  EXPECT_EQ(r.identity->grants.rooms, (std::vector<std::string>{"team-red"}));

  EXPECT_EQ(issue_token(signer, pol, alice(), std::string("other"), std::nullopt, 1000, out),
            IssueError::room_not_granted);
}

TEST(IssueToken, Es256VerifiesWithTheDerivedPublicKey) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);

  auto signer = auth::TokenSigner::es256(pem);
  EXPECT_STREQ(signer.alg(), "ES256");
  IssuedToken out;
  ASSERT_EQ(issue_token(signer, TokenPolicy{}, alice(), std::nullopt, int64_t{60}, 1000, out),
            IssueError::none);
  auth::JwtVerifier v(auth::VerifierConfig{"", {signer.public_key_pem()}, "", "", 30});
  auto r = v.verify(out.token, 1001);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_EQ(r.identity->expires_at, 1060);
  // Tampering with the payload breaks the signature.
  std::string bad = out.token;
  bad[bad.find('.') + 3] ^= 1;
  EXPECT_FALSE(v.verify(bad, 1001).identity);
}

TEST(IssueToken, Es256RefusesOtherKeys) {
  EXPECT_THROW(auth::TokenSigner::es256("not a pem"), std::invalid_argument);
  EVP_PKEY* rsa = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(rsa);
  EXPECT_THROW(auth::TokenSigner::es256(pem), std::invalid_argument);
}

}  // namespace sb::identity
