// Tests for JwtVerifier and sign_hs256. Every token here except the sign_hs256
// and libjwt round trips is built by hand: base64url and JSON by string
// concatenation, signatures straight from OpenSSL, so the verifier is checked
// against independently produced tokens (as a browser or an IdP would make
// them) and the classic JWT attacks can be crafted byte by byte.
#include "auth/jwt_verifier.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sb::auth {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr const char* kSecret = "test-hs256-secret-of-reasonable-length";

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// ---------------------------------------------------------------------------
// Independent token building blocks.

std::string b64url(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

// SHA-256 signature with OpenSSL's EVP API: PKCS#1 v1.5 for RSA, DER-encoded
// ECDSA-Sig-Value for EC (what every crypto library hands out by default).
std::string evp_sign(EVP_PKEY* key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()), 1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()),
            1);
  sig.resize(len);
  return sig;
}

// JWS ES256 wants the raw 64-byte R||S (RFC 7518 §3.4), not DER.
std::string der_to_raw_rs(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  EXPECT_NE(sig, nullptr);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  EXPECT_EQ(BN_bn2binpad(r, out, 32), 32);
  EXPECT_EQ(BN_bn2binpad(s, out + 32, 32), 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string bio_text(BIO* bio) {
  std::string out;
  char buf[1024];
  size_t n = 0;
  while (BIO_read_ex(bio, buf, sizeof buf, &n) == 1 && n > 0) out.append(buf, n);
  return out;
}

std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio, key), 1);
  std::string pem = bio_text(bio);
  BIO_free(bio);
  return pem;
}

std::string private_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::string pem = bio_text(bio);
  BIO_free(bio);
  return pem;
}

PkeyPtr make_rsa() {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), EVP_PKEY_free);
}
PkeyPtr make_ec(const char* curve) {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), EVP_PKEY_free);
}

// Keys are generated once per process: RSA key generation takes a while.
EVP_PKEY* rsa_key() {
  static PkeyPtr k = make_rsa();
  return k.get();
}
EVP_PKEY* rsa_key2() {
  static PkeyPtr k = make_rsa();
  return k.get();
}
EVP_PKEY* ec_key() {
  static PkeyPtr k = make_ec("P-256");
  return k.get();
}
EVP_PKEY* ec_key2() {
  static PkeyPtr k = make_ec("P-256");
  return k.get();
}

const std::string& rsa_pem() {
  static const std::string pem = public_pem(rsa_key());
  return pem;
}
const std::string& ec_pem() {
  static const std::string pem = public_pem(ec_key());
  return pem;
}

// A claims object for alice valid at kNow, with `extra` members appended.
std::string claims(std::string_view extra = "", int64_t exp = kNow + 3600) {
  std::string out = R"({"sub":"alice","exp":)" + std::to_string(exp);
  if (!extra.empty()) out.append(",").append(extra);
  out.push_back('}');
  return out;
}

std::string signing_input(std::string_view header, std::string_view payload) {
  return b64url(header) + "." + b64url(payload);
}

std::string hs_token(std::string_view payload, std::string_view secret = kSecret,
                     std::string_view header = R"({"alg":"HS256","typ":"JWT"})") {
  const std::string input = signing_input(header, payload);
  return input + "." + b64url(hmac_sha256(secret, input));
}

std::string rs_token(std::string_view payload, EVP_PKEY* key = rsa_key(),
                     std::string_view header = R"({"alg":"RS256","typ":"JWT"})") {
  const std::string input = signing_input(header, payload);
  return input + "." + b64url(evp_sign(key, input));
}

std::string es_token(std::string_view payload, EVP_PKEY* key = ec_key(),
                     std::string_view header = R"({"alg":"ES256","typ":"JWT"})") {
  const std::string input = signing_input(header, payload);
  return input + "." + b64url(der_to_raw_rs(evp_sign(key, input)));
}

VerifierConfig hs_config(std::string secret = kSecret) {
  VerifierConfig cfg;
  cfg.hs256_secret = std::move(secret);
  return cfg;
}

VerifierConfig rsa_config() {
  VerifierConfig cfg;
  cfg.public_key_pems = {rsa_pem()};
  return cfg;
}

VerifierConfig ec_config() {
  VerifierConfig cfg;
  cfg.public_key_pems = {ec_pem()};
  return cfg;
}

VerifierConfig all_config() {
  VerifierConfig cfg = hs_config();
  cfg.public_key_pems = {rsa_pem(), ec_pem()};
  return cfg;
}

TokenError error_of(const JwtVerifier& v, std::string_view token, int64_t now = kNow) {
  return v.verify(token, now).error;
}

// Replaces the character at `pos` with a different base64url character that
// keeps the encoding canonical when `pos` is not the last character.
std::string flip(std::string token, size_t pos) {
  token[pos] = token[pos] == 'A' ? 'B' : 'A';
  return token;
}

// ---------------------------------------------------------------------------

TEST(TokenError, StableNames) {
  EXPECT_STREQ(to_string(TokenError::none), "none");
  EXPECT_STREQ(to_string(TokenError::malformed), "malformed");
  EXPECT_STREQ(to_string(TokenError::unsupported_alg), "unsupported-alg");
  EXPECT_STREQ(to_string(TokenError::no_key), "no-key");
  EXPECT_STREQ(to_string(TokenError::bad_signature), "bad-signature");
  EXPECT_STREQ(to_string(TokenError::expired), "expired");
  EXPECT_STREQ(to_string(TokenError::not_yet_valid), "not-yet-valid");
  EXPECT_STREQ(to_string(TokenError::wrong_issuer), "wrong-issuer");
  EXPECT_STREQ(to_string(TokenError::wrong_audience), "wrong-audience");
  EXPECT_STREQ(to_string(TokenError::missing_claim), "missing-claim");
  EXPECT_STREQ(to_string(TokenError::bad_claim), "bad-claim");
}

// --- valid tokens ----------------------------------------------------------

TEST(JwtVerifier, AcceptsHs256) {
  const JwtVerifier v(hs_config());
  const VerifyResult r = v.verify(hs_token(claims(R"("name":"Alice A.")")), kNow);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_EQ(r.error, TokenError::none);
  EXPECT_EQ(r.identity->user.str(), "alice");
  EXPECT_EQ(r.identity->name, "Alice A.");
  EXPECT_EQ(r.identity->expires_at, kNow + 3600);
  EXPECT_TRUE(r.identity->room_config_json.empty());
}

TEST(JwtVerifier, AcceptsRs256SignedWithOpenSslEvp) {
  const JwtVerifier v(rsa_config());
  const VerifyResult r = v.verify(rs_token(claims()), kNow);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_EQ(r.identity->user.str(), "alice");
}

TEST(JwtVerifier, AcceptsEs256WithRawRsSignatureFromOpenSsl) {
  const JwtVerifier v(ec_config());
  const std::string token = es_token(claims());
  const VerifyResult r = v.verify(token, kNow);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_EQ(r.identity->user.str(), "alice");
  EXPECT_EQ(token.size() - token.rfind('.') - 1, 86u);  // 64 bytes of R||S
}

TEST(JwtVerifier, RejectsEs256WithDerSignature) {
  // A DER ECDSA signature is what OpenSSL hands out, but not what JWS allows.
  const JwtVerifier v(ec_config());
  const std::string input = signing_input(R"({"alg":"ES256"})", claims());
  const std::string token = input + "." + b64url(evp_sign(ec_key(), input));
  EXPECT_EQ(error_of(v, token), TokenError::bad_signature);
}

// Tokens minted by libjwt itself (what a C issuer using libjwt would send).
std::string libjwt_token(jwt_alg_t alg, const std::string& key) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grant(jwt, "sub", "bob"), 0);
  EXPECT_EQ(jwt_add_grant_int(jwt, "exp", kNow + 60), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, R"({"grants":{"rooms":["lobby"],"admin":true}})"), 0);
  EXPECT_EQ(
      jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size())),
      0);
  char* s = jwt_encode_str(jwt);
  EXPECT_NE(s, nullptr);
  std::string token = s != nullptr ? s : "";
  std::free(s);  // libjwt 1.10 has no jwt_free_str; it allocates with malloc
  jwt_free(jwt);
  return token;
}

TEST(JwtVerifier, AcceptsTokensMintedByLibjwt) {
  const JwtVerifier v(all_config());
  for (const std::string& token :
       {libjwt_token(JWT_ALG_HS256, kSecret), libjwt_token(JWT_ALG_RS256, private_pem(rsa_key())),
        libjwt_token(JWT_ALG_ES256, private_pem(ec_key()))}) {
    const VerifyResult r = v.verify(token, kNow);
    ASSERT_TRUE(r.identity) << r.detail;
    EXPECT_EQ(r.identity->user.str(), "bob");
    EXPECT_TRUE(r.identity->grants.admin);
    EXPECT_TRUE(r.identity->grants.may_join("lobby"));
  }
}

TEST(JwtVerifier, TriesEveryKeyOfTheTokensKind) {
  VerifierConfig cfg;
  cfg.public_key_pems = {ec_pem(), rsa_pem(), public_pem(rsa_key2()), public_pem(ec_key2())};
  const JwtVerifier v(cfg);
  EXPECT_EQ(error_of(v, rs_token(claims(), rsa_key())), TokenError::none);
  EXPECT_EQ(error_of(v, rs_token(claims(), rsa_key2())), TokenError::none);
  EXPECT_EQ(error_of(v, es_token(claims(), ec_key())), TokenError::none);
  EXPECT_EQ(error_of(v, es_token(claims(), ec_key2())), TokenError::none);

  VerifierConfig only_first;
  only_first.public_key_pems = {rsa_pem(), ec_pem()};
  const JwtVerifier v1(only_first);
  EXPECT_EQ(error_of(v1, rs_token(claims(), rsa_key2())), TokenError::bad_signature);
  EXPECT_EQ(error_of(v1, es_token(claims(), ec_key2())), TokenError::bad_signature);
}

// --- algorithm and key pinning ----------------------------------------------

TEST(JwtVerifier, RejectsAlgNone) {
  const JwtVerifier v(all_config());
  const std::string unsigned_input = signing_input(R"({"alg":"none","typ":"JWT"})", claims());
  for (const std::string& token : {unsigned_input + ".", unsigned_input + "." + b64url("bogus-signature"),
                                   hs_token(claims(), kSecret, R"({"alg":"none"})")}) {
    const VerifyResult r = v.verify(token, kNow);
    EXPECT_FALSE(r.identity);
    EXPECT_EQ(r.error, TokenError::unsupported_alg);
  }
  for (const char* alg : {"None", "NONE", "nOnE", ""}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"("})";
    EXPECT_EQ(error_of(v, signing_input(header, claims()) + "."), TokenError::unsupported_alg) << alg;
  }
}

TEST(JwtVerifier, RejectsOtherAlgorithms) {
  const JwtVerifier v(all_config());
  for (const char* alg :
       {"HS384", "HS512", "RS384", "RS512", "ES384", "ES512", "PS256", "EdDSA", "hs256", "HS256 "}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"("})";
    EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, header)), TokenError::unsupported_alg) << alg;
  }
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"typ":"JWT"})")), TokenError::unsupported_alg);
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":256})")), TokenError::unsupported_alg);
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":["HS256"]})")), TokenError::unsupported_alg);
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":null})")), TokenError::unsupported_alg);
}

// The classic key confusion: the attacker knows the RSA public key, HMACs a
// token with its PEM text and labels it HS256, hoping the verifier feeds the
// configured PEM to HMAC.
std::string hs256_signed_with_rsa_pem() {
  return hs_token(claims(R"("grants":{"admin":true,"rooms":["*"]})"), rsa_pem());
}

TEST(JwtVerifier, Hs256SignedWithRsaPemIsTheAttackLibjwtAloneFallsFor) {
  // Sanity check that the test token is a real attack: raw libjwt, handed the
  // PEM as key, accepts it. The verifier below must not.
  const std::string token = hs256_signed_with_rsa_pem();
  jwt_t* jwt = nullptr;
  const int rc = jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(rsa_pem().data()),
                            static_cast<int>(rsa_pem().size()));
  EXPECT_EQ(rc, 0);
  if (rc == 0) jwt_free(jwt);
}

TEST(JwtVerifier, Hs256SignedWithRsaPemRejectedWhenOnlyRsaConfigured) {
  const JwtVerifier v(rsa_config());
  const VerifyResult r = v.verify(hs256_signed_with_rsa_pem(), kNow);
  EXPECT_FALSE(r.identity);
  EXPECT_EQ(r.error, TokenError::no_key);
}

TEST(JwtVerifier, Hs256SignedWithRsaPemRejectedWhenHsAndRsaConfigured) {
  const JwtVerifier v(all_config());
  const VerifyResult r = v.verify(hs256_signed_with_rsa_pem(), kNow);
  EXPECT_FALSE(r.identity);
  EXPECT_EQ(r.error, TokenError::bad_signature);
}

TEST(JwtVerifier, DuplicateAlgMembersCannotConfuseKeyKind) {
  // Whichever "alg" a parser picks, the RSA PEM must never become an HMAC key.
  for (const VerifierConfig& cfg : {all_config(), rsa_config()}) {
    const JwtVerifier v(cfg);
    for (const char* header : {R"({"alg":"RS256","alg":"HS256"})", R"({"alg":"HS256","alg":"RS256"})"}) {
      const VerifyResult r = v.verify(hs_token(claims(), rsa_pem(), header), kNow);
      EXPECT_FALSE(r.identity) << header;
    }
  }
}

TEST(JwtVerifier, PublicKeyAlgsRejectedWhenOnlyHsConfigured) {
  const JwtVerifier v(hs_config());
  EXPECT_EQ(error_of(v, rs_token(claims())), TokenError::no_key);
  EXPECT_EQ(error_of(v, es_token(claims())), TokenError::no_key);
}

TEST(JwtVerifier, KeyKindMustMatchAlg) {
  EXPECT_EQ(error_of(JwtVerifier(rsa_config()), es_token(claims())), TokenError::no_key);
  EXPECT_EQ(error_of(JwtVerifier(ec_config()), rs_token(claims())), TokenError::no_key);
  EXPECT_EQ(error_of(JwtVerifier(ec_config()), hs_token(claims())), TokenError::no_key);
}

TEST(JwtVerifier, NoKeysAtAll) {
  const JwtVerifier v(VerifierConfig{});
  EXPECT_FALSE(v.has_keys());
  EXPECT_EQ(error_of(v, hs_token(claims())), TokenError::no_key);
  EXPECT_TRUE(JwtVerifier(hs_config()).has_keys());
  EXPECT_TRUE(JwtVerifier(ec_config()).has_keys());
}

// --- signatures ---------------------------------------------------------------

TEST(JwtVerifier, RejectsTamperedPayload) {
  const JwtVerifier v(all_config());
  const std::string forged = b64url(claims(R"("grants":{"admin":true})"));
  for (const std::string& token : {hs_token(claims()), rs_token(claims()), es_token(claims())}) {
    const size_t dot1 = token.find('.');
    const size_t dot2 = token.rfind('.');
    const std::string tampered = token.substr(0, dot1 + 1) + forged + token.substr(dot2);
    EXPECT_EQ(error_of(v, tampered), TokenError::bad_signature);
    EXPECT_EQ(error_of(v, flip(token, dot1 + 4)), TokenError::bad_signature);  // {"sub" -> {"@ub"
  }
}

TEST(JwtVerifier, RejectsTamperedSignature) {
  const JwtVerifier v(all_config());
  for (const std::string& token : {hs_token(claims()), rs_token(claims()), es_token(claims())}) {
    const size_t sig = token.rfind('.') + 1;
    EXPECT_EQ(error_of(v, flip(token, sig)), TokenError::bad_signature);
    EXPECT_EQ(error_of(v, flip(token, sig + 10)), TokenError::bad_signature);
    EXPECT_EQ(error_of(v, token.substr(0, sig) + token.substr(sig + 4)),
              TokenError::bad_signature);                                     // shortened
    EXPECT_EQ(error_of(v, token.substr(0, sig)), TokenError::bad_signature);  // stripped
    EXPECT_EQ(error_of(v, token + "AAAA"), TokenError::bad_signature);        // extended
  }
}

TEST(JwtVerifier, RejectsNonCanonicalBase64) {
  const JwtVerifier v(hs_config());
  const std::string token = hs_token(claims());
  // 32 bytes encode to 43 characters, the last carrying 4 bits + 2 zero bits.
  std::string odd = token;
  odd.back() = static_cast<char>(odd.back() + 1);
  EXPECT_EQ(error_of(v, odd), TokenError::malformed);
  EXPECT_EQ(error_of(v, token + "="), TokenError::malformed);
}

TEST(JwtVerifier, WrongSecret) {
  const JwtVerifier v(hs_config());
  EXPECT_EQ(error_of(v, hs_token(claims(), "another-secret")), TokenError::bad_signature);
}

// --- time claims ----------------------------------------------------------------

TEST(JwtVerifier, Expired) {
  const JwtVerifier v(hs_config());  // leeway 30 s
  EXPECT_EQ(error_of(v, hs_token(claims("", kNow - 3600))), TokenError::expired);
  EXPECT_EQ(error_of(v, hs_token(claims("", kNow - 30))), TokenError::expired);  // exp + leeway == now
  EXPECT_EQ(error_of(v, hs_token(claims("", kNow - 29))), TokenError::none);     // within leeway
  EXPECT_EQ(error_of(v, hs_token(claims("", kNow))), TokenError::none);
}

TEST(JwtVerifier, LeewayIsConfigurable) {
  VerifierConfig cfg = hs_config();
  cfg.leeway_s = 0;
  const JwtVerifier strict(cfg);
  EXPECT_EQ(error_of(strict, hs_token(claims("", kNow))), TokenError::expired);
  EXPECT_EQ(error_of(strict, hs_token(claims("", kNow + 1))), TokenError::none);
  cfg.leeway_s = -100;  // treated as zero
  const JwtVerifier negative(cfg);
  EXPECT_EQ(error_of(negative, hs_token(claims("", kNow))), TokenError::expired);
  EXPECT_EQ(error_of(negative, hs_token(claims("", kNow + 1))), TokenError::none);
}

TEST(JwtVerifier, FractionalAndHugeExp) {
  const JwtVerifier v(hs_config());
  const VerifyResult frac = v.verify(hs_token(R"({"sub":"a","exp":1700000000.5})"), kNow);
  ASSERT_TRUE(frac.identity) << frac.detail;
  EXPECT_EQ(frac.identity->expires_at, kNow + 1);
  // 1699999969.5 + 30 = 1699999999.5 <= now: expired; 1699999970.5 + 30 > now.
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"a","exp":1699999969.5})")), TokenError::expired);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"a","exp":1699999970.5})")), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"a","exp":1.7e9})")), TokenError::none);  // == now, within leeway
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"a","exp":1.6e9})")), TokenError::expired);

  // Far-future exp saturates instead of overflowing exp + leeway.
  const VerifyResult huge = v.verify(hs_token(R"({"sub":"a","exp":1e300})"), kNow);
  ASSERT_TRUE(huge.identity) << huge.detail;
  EXPECT_EQ(huge.identity->expires_at, INT64_MAX);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"a","exp":9223372036854775807})")), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"a","exp":-9223372036854775808})")), TokenError::expired);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"a","exp":-1e300})")), TokenError::expired);
  // Beyond int64, an integer exp saturates like 1e300 above; beyond the double
  // range (+inf: a token that would never expire) it is refused.
  const VerifyResult u64 = v.verify(hs_token(R"({"sub":"a","exp":18446744073709551615})"), kNow);
  ASSERT_TRUE(u64.identity) << u64.detail;
  EXPECT_EQ(u64.identity->expires_at, INT64_MAX);
  EXPECT_FALSE(v.verify(hs_token(R"({"sub":"a","exp":1e400})"), kNow).identity);
  EXPECT_FALSE(v.verify(hs_token(R"({"sub":"a","exp":-1e400})"), kNow).identity);
}

TEST(JwtVerifier, NotBefore) {
  const JwtVerifier v(hs_config());
  EXPECT_EQ(error_of(v, hs_token(claims("\"nbf\":" + std::to_string(kNow + 31)))), TokenError::not_yet_valid);
  EXPECT_EQ(error_of(v, hs_token(claims("\"nbf\":" + std::to_string(kNow + 3000)))),
            TokenError::not_yet_valid);
  EXPECT_EQ(error_of(v, hs_token(claims("\"nbf\":" + std::to_string(kNow + 30)))), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(claims("\"nbf\":" + std::to_string(kNow - 10)))), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("nbf":"soon")"))), TokenError::bad_claim);
}

// --- issuer, audience, subject ---------------------------------------------------

TEST(JwtVerifier, Issuer) {
  VerifierConfig cfg = hs_config();
  cfg.issuer = "https://idp.example";
  const JwtVerifier v(cfg);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("iss":"https://idp.example")"))), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("iss":"https://evil.example")"))), TokenError::wrong_issuer);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("iss":"https://idp.example/")"))), TokenError::wrong_issuer);
  EXPECT_EQ(error_of(v, hs_token(claims())), TokenError::wrong_issuer);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("iss":["https://idp.example"])"))), TokenError::bad_claim);
  // Not configured: not checked.
  EXPECT_EQ(error_of(JwtVerifier(hs_config()), hs_token(claims(R"("iss":"anyone")"))), TokenError::none);
}

TEST(JwtVerifier, Audience) {
  VerifierConfig cfg = hs_config();
  cfg.audience = "switchboard";
  const JwtVerifier v(cfg);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("aud":"switchboard")"))), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("aud":"other-service")"))), TokenError::wrong_audience);
  EXPECT_EQ(error_of(v, hs_token(claims())), TokenError::wrong_audience);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("aud":["api","switchboard"])"))), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("aud":["api","billing"])"))), TokenError::wrong_audience);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("aud":[])"))), TokenError::wrong_audience);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("aud":["switchboard",7])"))), TokenError::bad_claim);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("aud":{"switchboard":true})"))), TokenError::bad_claim);
  EXPECT_EQ(error_of(JwtVerifier(hs_config()), hs_token(claims(R"("aud":"whatever")"))), TokenError::none);
}

TEST(JwtVerifier, Subject) {
  const JwtVerifier v(hs_config());
  const std::string exp = std::to_string(kNow + 60);
  EXPECT_EQ(error_of(v, hs_token(R"({"exp":)" + exp + "}")), TokenError::missing_claim);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"","exp":)" + exp + "}")), TokenError::bad_claim);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":42,"exp":)" + exp + "}")), TokenError::bad_claim);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":null,"exp":)" + exp + "}")), TokenError::bad_claim);
}

TEST(JwtVerifier, ExpRequiredAndNumeric) {
  const JwtVerifier v(hs_config());
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"alice"})")), TokenError::missing_claim);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"alice","exp":"1700003600"})")), TokenError::bad_claim);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"alice","exp":true})")), TokenError::bad_claim);
  EXPECT_EQ(error_of(v, hs_token(R"({"sub":"alice","exp":null})")), TokenError::bad_claim);
  EXPECT_EQ(error_of(v, hs_token(R"({"exp":"x"})")), TokenError::bad_claim);  // first problem wins
}

TEST(JwtVerifier, NameMustBeAString) {
  const JwtVerifier v(hs_config());
  EXPECT_EQ(error_of(v, hs_token(claims(R"("name":7)"))), TokenError::bad_claim);
  const VerifyResult r = v.verify(hs_token(claims(R"("name":"Zo\u00eb \"Z\"")")), kNow);
  ASSERT_TRUE(r.identity);
  EXPECT_EQ(r.identity->name, "Zo\xc3\xab \"Z\"");
}

// --- grants and room_config -----------------------------------------------------

TEST(JwtVerifier, GrantsParsed) {
  const JwtVerifier v(hs_config());
  const VerifyResult r = v.verify(
      hs_token(claims(
          R"("grants":{"rooms":["lobby","team-*"],"publish":false,"subscribe":true,"data":false,"admin":true,"future":1})")),
      kNow);
  ASSERT_TRUE(r.identity) << r.detail;
  const Grants& g = r.identity->grants;
  EXPECT_EQ(g.rooms, (std::vector<std::string>{"lobby", "team-*"}));
  EXPECT_FALSE(g.publish);
  EXPECT_TRUE(g.subscribe);
  EXPECT_FALSE(g.data);
  EXPECT_TRUE(g.admin);
  EXPECT_TRUE(g.may_join("team-x"));
}

TEST(JwtVerifier, GrantsDefaults) {
  const JwtVerifier v(hs_config());
  for (const std::string& payload : {claims(), claims(R"("grants":{})")}) {
    const VerifyResult r = v.verify(hs_token(payload), kNow);
    ASSERT_TRUE(r.identity) << r.detail;
    const Grants& g = r.identity->grants;
    EXPECT_TRUE(g.rooms.empty());
    EXPECT_TRUE(g.publish);
    EXPECT_TRUE(g.subscribe);
    EXPECT_TRUE(g.data);
    EXPECT_FALSE(g.admin);
    EXPECT_FALSE(g.may_join("lobby"));
  }
  const VerifyResult partial =
      v.verify(hs_token(claims(R"("grants":{"rooms":["*"],"subscribe":false})")), kNow);
  ASSERT_TRUE(partial.identity);
  EXPECT_TRUE(partial.identity->grants.publish);
  EXPECT_FALSE(partial.identity->grants.subscribe);
  EXPECT_TRUE(partial.identity->grants.may_join("anything"));
}

TEST(JwtVerifier, GrantsWrongTypes) {
  const JwtVerifier v(hs_config());
  for (const char* grants :
       {R"("grants":["lobby"])", R"("grants":"admin")", R"("grants":null)", R"("grants":{"rooms":"lobby"})",
        R"("grants":{"rooms":[1]})", R"("grants":{"rooms":["ok",null]})", R"("grants":{"publish":"yes"})",
        R"("grants":{"subscribe":0})", R"("grants":{"data":null})", R"("grants":{"admin":1})"}) {
    const VerifyResult r = v.verify(hs_token(claims(grants)), kNow);
    EXPECT_FALSE(r.identity) << grants;
    EXPECT_EQ(r.error, TokenError::bad_claim) << grants;
  }
}

TEST(JwtVerifier, RoomConfigKeptAsRawJson) {
  const JwtVerifier v(hs_config());
  const VerifyResult r = v.verify(
      hs_token(claims(R"("room_config":{"max_peers":8,"video":{"codecs":["vp8","h264"]},"x":null})")), kNow);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_EQ(r.identity->room_config_json, R"({"max_peers":8,"video":{"codecs":["vp8","h264"]},"x":null})");

  EXPECT_EQ(error_of(v, hs_token(claims(R"("room_config":"{}")"))), TokenError::bad_claim);
  EXPECT_EQ(error_of(v, hs_token(claims(R"("room_config":[1])"))), TokenError::bad_claim);
  EXPECT_FALSE(v.verify(hs_token(claims(R"("room_config":{"big":1e999})")), kNow).identity);
}

// --- malformed input ----------------------------------------------------------------

TEST(JwtVerifier, MalformedInputs) {
  const JwtVerifier v(all_config());
  const std::string good_payload = b64url(claims());
  const std::string hs_header = b64url(R"({"alg":"HS256"})");
  const std::vector<std::string> inputs = {
      "",
      "a.b",
      "a.b.c.d",
      "..",
      "...",
      "abc",
      std::string(1, '\0'),
      "!!!!.????.****",
      "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA",
      hs_header + ".e30=.AAAA",
      "A." + good_payload + ".AAAA",                                // header length 1 (impossible base64)
      b64url("not json") + "." + good_payload + ".AAAA",            // header not JSON
      b64url("[\"HS256\"]") + "." + good_payload + ".AAAA",         // header an array
      b64url("{\"alg\":\"HS256\"") + "." + good_payload + ".AAAA",  // truncated JSON
      b64url("{\"alg\":\"HS256\"}\xff") + "." + good_payload + ".AAAA",
      hs_header + "." + b64url("[1,2]") + ".AAAA",                   // payload an array
      hs_header + "." + b64url("\"x\"") + ".AAAA",                   // payload a string
      hs_header + "." + b64url("{\"sub\":\"\xff\xfe\"}") + ".AAAA",  // invalid UTF-8
      hs_header + ".%%%%." + b64url("sig"),
      hs_header + "." + good_payload + ".!!!!",
      hs_header + ".." + b64url("sig"),
      "." + good_payload + "." + b64url("sig"),
      hs_header + "." + good_payload + "." + b64url("sig") + "\n",
      std::string(100'000, 'A') + "." + good_payload + ".AAAA",  // oversized
  };
  for (const std::string& in : inputs) {
    const VerifyResult r = v.verify(in, kNow);
    EXPECT_FALSE(r.identity) << in.substr(0, 80);
    EXPECT_EQ(r.error, TokenError::malformed) << in.substr(0, 80);
  }
  const std::string nul_inside = hs_token(claims());
  EXPECT_EQ(error_of(v, nul_inside.substr(0, 5) + std::string(1, '\0') + nul_inside.substr(6)),
            TokenError::malformed);
}

TEST(JwtVerifier, DeeplyNestedJsonIsRefused) {
  const JwtVerifier v(hs_config());
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  EXPECT_EQ(error_of(v, hs_token(claims("\"room_config\":{\"a\":" + deep + "}"))), TokenError::malformed);
}

TEST(JwtVerifier, HeaderTypAndCrit) {
  const JwtVerifier v(hs_config());
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":"HS256"})")), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":"HS256","typ":"jwt"})")), TokenError::none);
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":"HS256","kid":"k1"})")), TokenError::none);
  // libjwt 1.10 refuses any other typ, so do we, with a clearer reason.
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":"HS256","typ":"at+jwt"})")),
            TokenError::malformed);
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":"HS256","typ":1})")), TokenError::malformed);
  // RFC 7515 §4.1.11: extensions we do not understand must be rejected.
  EXPECT_EQ(error_of(v, hs_token(claims(), kSecret, R"({"alg":"HS256","crit":["b64"],"b64":false})")),
            TokenError::malformed);
}

TEST(JwtVerifier, DetailNeverContainsTheToken) {
  VerifierConfig cfg = all_config();
  cfg.issuer = "iss-config";
  cfg.audience = "aud-config";
  const JwtVerifier v(cfg);
  const std::vector<std::string> tokens = {
      hs_token(claims(R"("iss":"evil-issuer-value","aud":"aud-config")")),
      hs_token(claims(R"("iss":"iss-config","aud":"evil-audience-value")")),
      hs_token(claims(R"("iss":"iss-config","aud":"aud-config")"), "wrong"),
      hs_token(claims(R"("iss":"iss-config","aud":"aud-config")", kNow - 1000)),
      hs_token(claims(), kSecret, R"({"alg":"evil-alg-value"})"),
      "not-a-token-secret-value",
  };
  for (const std::string& t : tokens) {
    const VerifyResult r = v.verify(t, kNow);
    ASSERT_FALSE(r.identity);
    EXPECT_FALSE(r.detail.empty());
    for (const char* leak : {"evil", "alice", "secret-value", "eyJ"})
      EXPECT_EQ(r.detail.find(leak), std::string::npos);
    for (size_t i = 0; i + 8 <= t.size(); i += 8) EXPECT_EQ(r.detail.find(t.substr(i, 8)), std::string::npos);
  }
}

// Mutations of valid tokens and random garbage: never a crash or an exception,
// and never an identity unless the token is unchanged.
TEST(JwtVerifier, SurvivesMutatedAndRandomInput) {
  const JwtVerifier v(all_config());
  std::mt19937 rng(12345);
  const std::string valid[] = {hs_token(claims()), rs_token(claims()), es_token(claims())};
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x01\xff";
  for (int i = 0; i < 3000; ++i) {
    std::string t = valid[i % 3];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: t.erase(pos, 1 + rng() % 8); break;
        default: t.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
      }
      if (t.empty()) t.push_back('.');
    }
    VerifyResult r;
    EXPECT_NO_THROW(r = v.verify(t, kNow));
    if (t != valid[i % 3]) {
      EXPECT_FALSE(r.identity);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    std::string t(rng() % 300, '\0');
    for (char& c : t) c = static_cast<char>(rng());
    EXPECT_FALSE(v.verify(t, kNow).identity);
  }
}

TEST(JwtVerifier, ConcurrentVerify) {
  const JwtVerifier v(all_config());
  const std::string tokens[] = {hs_token(claims()), rs_token(claims()), es_token(claims()),
                                hs_token(claims(), "wrong")};
  std::atomic<int> ok{0};
  std::atomic<int> rejected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const VerifyResult r = v.verify(tokens[(t + i) % 4], kNow);
        (r.identity ? ok : rejected).fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok.load(), 600);
  EXPECT_EQ(rejected.load(), 200);
}

// --- sign_hs256 -------------------------------------------------------------------

TEST(SignHs256, RoundTripsThroughVerify) {
  VerifierConfig cfg = hs_config();
  cfg.issuer = "switchboard-dev";
  cfg.audience = "switchboard";
  const JwtVerifier v(cfg);

  TokenSpec spec;
  spec.user = UserId(std::string("user-\"42\""));
  spec.name = "Ana \xc3\xa1 <b>";
  spec.grants.rooms = {"lobby", "team-*"};
  spec.grants.publish = false;
  spec.grants.data = false;
  spec.grants.admin = true;
  spec.issued_at = kNow;
  spec.expires_at = kNow + 600;
  spec.issuer = "switchboard-dev";
  spec.audience = "switchboard";

  const std::string token = sign_hs256(kSecret, spec);
  const VerifyResult r = v.verify(token, kNow);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_EQ(r.identity->user, spec.user);
  EXPECT_EQ(r.identity->name, spec.name);
  EXPECT_EQ(r.identity->expires_at, spec.expires_at);
  EXPECT_EQ(r.identity->grants.rooms, spec.grants.rooms);
  EXPECT_FALSE(r.identity->grants.publish);
  EXPECT_TRUE(r.identity->grants.subscribe);
  EXPECT_FALSE(r.identity->grants.data);
  EXPECT_TRUE(r.identity->grants.admin);

  EXPECT_EQ(error_of(v, token, kNow + 600 + 30), TokenError::expired);
  EXPECT_EQ(error_of(JwtVerifier(hs_config("other")), token), TokenError::bad_signature);
}

TEST(SignHs256, OmitsEmptyOptionalClaims) {
  TokenSpec spec;
  spec.user = UserId(std::string("bob"));
  spec.expires_at = kNow + 60;
  const std::string token = sign_hs256(kSecret, spec);

  jwt_t* jwt = nullptr;  // inspect the claims with an independent decoder
  ASSERT_EQ(jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(kSecret),
                       static_cast<int>(std::string_view(kSecret).size())),
            0);
  EXPECT_EQ(jwt_get_alg(jwt), JWT_ALG_HS256);
  EXPECT_EQ(jwt_get_grant(jwt, "name"), nullptr);
  EXPECT_EQ(jwt_get_grant(jwt, "iss"), nullptr);
  EXPECT_EQ(jwt_get_grant(jwt, "aud"), nullptr);
  EXPECT_STREQ(jwt_get_grant(jwt, "sub"), "bob");
  EXPECT_EQ(jwt_get_grant_int(jwt, "exp"), kNow + 60);
  EXPECT_EQ(jwt_get_grant_int(jwt, "iat"), 0);
  jwt_free(jwt);

  const VerifyResult r = JwtVerifier(hs_config()).verify(token, kNow);
  ASSERT_TRUE(r.identity) << r.detail;
  EXPECT_TRUE(r.identity->name.empty());
  EXPECT_TRUE(r.identity->grants.rooms.empty());
}

TEST(SignHs256, EmptySecretThrows) {
  EXPECT_THROW(sign_hs256("", TokenSpec{}), std::invalid_argument);
}

// --- key loading ----------------------------------------------------------------------

TEST(JwtVerifierKeys, BadPemThrowsNamingTheKey) {
  const PkeyPtr p384 = make_ec("P-384");
  const PkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  ASSERT_TRUE(p384 && ed25519);
  const std::string bad_pems[] = {
      "",
      "garbage",
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
      private_pem(rsa_key()),  // a private key is not a public key
      public_pem(p384.get()),
      public_pem(ed25519.get()),
  };
  for (const std::string& bad : bad_pems) {
    VerifierConfig cfg;
    cfg.public_key_pems = {rsa_pem(), bad};
    try {
      JwtVerifier v(cfg);
      ADD_FAILURE() << "accepted: " << bad.substr(0, 40);
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("#1"), std::string::npos) << e.what();
    }
  }
}

TEST(JwtVerifierKeys, AcceptsRsaAndP256) {
  VerifierConfig cfg;
  cfg.public_key_pems = {rsa_pem(), ec_pem(), public_pem(rsa_key2())};
  EXPECT_NO_THROW(JwtVerifier{cfg});
}

}  // namespace
}  // namespace sb::auth
