// fuzz/fuzz_jwt.cpp — libFuzzer target for auth::JwtVerifier::verify.
//
// Two verifiers share one HS256 secret and two public keys (RSA 2048 and EC
// P-256, generated once at start-up): A checks no issuer or audience and has
// 30 s of leeway, B checks both with no leeway. An input is used in one of two
// ways:
//  - raw: the input is the token itself (compact JWS) and goes to both
//    verifiers as is;
//  - structured, when the input starts with '{': "<header JSON>\n<payload JSON>"
//    (no newline: the payload alone under {"alg":"HS256","typ":"JWT"}) is
//    base64url-encoded and signed — with the EC key when the header mentions
//    ES256, the RSA key for RS256, else the HS256 secret — so the signature
//    holds and the claim checks are what gets fuzzed.
// Either way, a result must be consistent (identity exactly when no error, a
// detail that never repeats the token) and, checked independently of the
// verifier with OpenSSL and Boost.JSON:
//  - an accepted token carries a genuine signature by a configured key under the
//    alg in its header, and its claims pass a reference claim check written
//    from the rules in auth/jwt_verifier.h (the identity matching the claims);
//  - a token refused for a claim (expired, wrong issuer, bad claim, ...) has
//    claims that the reference check refuses too.
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_verifier.h"

namespace {

namespace json = boost::json;
using sb::auth::JwtVerifier;
using sb::auth::TokenError;
using sb::auth::VerifierConfig;
using sb::auth::VerifyResult;

constexpr int64_t kNow = 1'700'000'000;
constexpr const char* kSecret = "switchboard-fuzz-hs256-secret";  // the corpus tokens are signed with it
constexpr const char* kIssuer = "https://issuer.fuzz";
constexpr const char* kAudience = "switchboard-fuzz";

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_jwt: invariant violated: %s\n", what);
  if (!detail.empty())
    std::fprintf(stderr, "  detail (%zu bytes): %.*s\n", detail.size(),
                 static_cast<int>(std::min<size_t>(detail.size(), 4000)), detail.data());
  std::abort();
}

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

void need(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_jwt: set-up failed: %s\n", what);
    std::abort();
  }
}

// ---------------------------------------------------------------------------
// base64url, written independently of the verifier's.

std::string b64url_encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

// Lenient (any trailing bits) decoder: the verifier's strictness is not what is checked here.
std::optional<std::string> b64url_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Keys and signatures (OpenSSL directly).

struct Keys {
  EVP_PKEY* rsa = nullptr;
  EVP_PKEY* ec = nullptr;
  std::string rsa_pem, ec_pem;
};

std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  need(bio != nullptr && PEM_write_bio_PUBKEY(bio, key) == 1, "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

const Keys& keys() {
  static const Keys k = [] {
    Keys r;
    r.rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    r.ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    need(r.rsa != nullptr && r.ec != nullptr, "key generation");
    r.rsa_pem = public_pem(r.rsa);
    r.ec_pem = public_pem(r.ec);
    return r;
  }();
  return k;
}

std::string hmac_sha256(std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  need(HMAC(EVP_sha256(), kSecret, static_cast<int>(std::string_view(kSecret).size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) != nullptr,
       "HMAC");
  return std::string(reinterpret_cast<const char*>(mac), len);
}

// SHA-256 signature: PKCS#1 v1.5 for RSA; for EC the DER ECDSA-Sig-Value
// turned into JWS's raw R||S (RFC 7518 §3.4).
std::string sign(EVP_PKEY* key, std::string_view data, bool ec) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  need(ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
           EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1,
       "EVP_DigestSign (size)");
  std::string sig(len, '\0');
  need(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                      reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1,
       "EVP_DigestSign");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (!ec) return sig;
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  need(es != nullptr, "d2i_ECDSA_SIG");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return raw;
}

bool verifies(EVP_PKEY* key, std::string_view data, std::string sig, bool ec) {
  if (ec) {  // raw R||S back to DER
    if (sig.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
    need(es != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(es, r, s) == 1, "ECDSA_SIG_set0");
    unsigned char* der = nullptr;
    const int n = i2d_ECDSA_SIG(es, &der);
    need(n > 0, "i2d_ECDSA_SIG");
    sig.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  need(ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1,
       "EVP_DigestVerifyInit");
  const int rc = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                  reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MD_CTX_free(ctx);
  return rc == 1;
}

// ---------------------------------------------------------------------------
// The reference claim check (RFC 7519 and the rules in auth/jwt_verifier.h).

struct Rules {
  int64_t leeway = 0;
  std::string issuer, audience;
};

// A NumericDate rounded up, as a long double (int64 and uint64 exactly).
std::optional<long double> numeric_date(const json::value& v) {
  if (v.is_int64()) return static_cast<long double>(v.get_int64());
  if (v.is_uint64()) return static_cast<long double>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double()))
    return std::ceil(static_cast<long double>(v.get_double()));
  return std::nullopt;
}

bool all_finite(const json::value& v) {
  if (v.is_double()) return std::isfinite(v.get_double());
  if (const json::array* a = v.if_array()) {
    for (const json::value& e : *a)
      if (!all_finite(e)) return false;
  }
  if (const json::object* o = v.if_object()) {
    for (const auto& kv : *o)
      if (!all_finite(kv.value())) return false;
  }
  return true;
}

bool reference_accepts(const json::object& c, const Rules& rules) {
  const json::value* exp = c.if_contains("exp");
  if (exp == nullptr) return false;
  const auto e = numeric_date(*exp);
  if (!e || !(*e + static_cast<long double>(rules.leeway) > static_cast<long double>(kNow))) return false;
  const json::value* sub = c.if_contains("sub");
  if (sub == nullptr || !sub->is_string() || sub->get_string().empty()) return false;
  if (const json::value* nbf = c.if_contains("nbf")) {
    const auto n = numeric_date(*nbf);
    if (!n || *n - static_cast<long double>(rules.leeway) > static_cast<long double>(kNow)) return false;
  }
  if (const json::value* name = c.if_contains("name"); name != nullptr && !name->is_string()) return false;
  if (const json::value* g = c.if_contains("grants")) {
    if (!g->is_object()) return false;
    const json::object& go = g->get_object();
    if (const json::value* rooms = go.if_contains("rooms")) {
      if (!rooms->is_array()) return false;
      for (const json::value& r : rooms->get_array())
        if (!r.is_string()) return false;
    }
    for (const char* flag : {"publish", "subscribe", "data", "admin"}) {
      if (const json::value* f = go.if_contains(flag); f != nullptr && !f->is_bool()) return false;
    }
  }
  if (const json::value* rc = c.if_contains("room_config")) {
    if (!rc->is_object() || !all_finite(*rc)) return false;
  }
  if (!rules.issuer.empty()) {
    const json::value* iss = c.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->get_string() != rules.issuer) return false;
  }
  if (!rules.audience.empty()) {
    const json::value* aud = c.if_contains("aud");
    if (aud == nullptr) return false;
    if (aud->is_string()) return aud->get_string() == rules.audience;
    if (!aud->is_array()) return false;
    bool match = false;
    for (const json::value& a : aud->get_array()) {
      if (!a.is_string()) return false;
      if (a.get_string() == rules.audience) match = true;
    }
    return match;
  }
  return true;
}

// Value equality, doubles within 2^-50 relative: Boost 1.81 serialises some
// doubles with 16 significant digits, one short of a round trip
// (1.8446744073709552e60 is written 1.844674407370955E60).
bool nearly_same(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= std::ldexp(std::max(std::fabs(x), std::fabs(y)), -50);
  }
  if (a.kind() != b.kind()) return a == b;
  if (const json::array* x = a.if_array()) {
    const json::array& y = b.get_array();
    if (x->size() != y.size()) return false;
    for (size_t i = 0; i < x->size(); ++i)
      if (!nearly_same((*x)[i], y[i])) return false;
    return true;
  }
  if (const json::object* x = a.if_object()) {
    const json::object& y = b.get_object();
    if (x->size() != y.size()) return false;
    for (const auto& kv : *x) {
      const json::value* w = y.if_contains(kv.key());
      if (w == nullptr || !nearly_same(kv.value(), *w)) return false;
    }
    return true;
  }
  return a == b;
}

bool is_claim_error(TokenError e) {
  return e == TokenError::expired || e == TokenError::not_yet_valid || e == TokenError::wrong_issuer ||
         e == TokenError::wrong_audience || e == TokenError::missing_claim || e == TokenError::bad_claim;
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// Checks one verify() result against the token, independently of the verifier.
void check_result(const VerifyResult& r, std::string_view token, const Rules& rules) {
  check(r.identity.has_value() == (r.error == TokenError::none), "identity set iff no error", token);
  if (r.error != TokenError::none) check(!r.detail.empty(), "rejection without a detail", token);
  // No fixed detail holds two dots, so one that holds a token with two dots copied it.
  if (std::count(token.begin(), token.end(), '.') >= 2)
    check(r.detail.find(token) == std::string::npos, "detail repeats the token", r.detail);
  if (r.error != TokenError::none && !is_claim_error(r.error)) return;

  // Accepted or refused for a claim: the verifier got past the signature, so the
  // token has three parts, a JSON header and payload, and a genuine signature.
  const size_t d1 = token.find('.');
  const size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  check(d2 != std::string_view::npos && token.find('.', d2 + 1) == std::string_view::npos,
        "signature accepted on a token without three parts", token);
  const auto header_text = b64url_decode(token.substr(0, d1));
  const auto payload_text = b64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  const auto sig = b64url_decode(token.substr(d2 + 1));
  check(header_text && payload_text && sig, "signature accepted on a token that is not base64url", token);
  const auto header = parse_object(*header_text);
  const auto claims = parse_object(*payload_text);
  check(header && claims, "signature accepted on a token whose header or payload is not an object", token);
  const json::value* alg = header->if_contains("alg");
  check(alg != nullptr && alg->is_string(), "signature accepted on a token without alg", token);
  const std::string_view signing_input = token.substr(0, d2);
  const json::string& a = alg->get_string();
  bool genuine = false;
  if (a == "HS256") genuine = *sig == hmac_sha256(signing_input);
  if (a == "RS256") genuine = verifies(keys().rsa, signing_input, *sig, false);
  if (a == "ES256") genuine = verifies(keys().ec, signing_input, *sig, true);
  check(genuine, "a signature that OpenSSL refuses was accepted", token);

  const bool ok = reference_accepts(*claims, rules);
  if (r.error != TokenError::none) {
    check(!ok, "claims refused that the reference check accepts", *payload_text);
    return;
  }
  check(ok, "claims accepted that the reference check refuses", *payload_text);
  const sb::auth::Identity& id = *r.identity;
  check(id.user.str() == std::string_view(claims->at("sub").get_string()), "identity.user is not sub",
        *payload_text);
  const auto exp = numeric_date(claims->at("exp"));
  const long double saturated = std::min(*exp, static_cast<long double>(INT64_MAX));  // exp is in the future
  check(static_cast<long double>(id.expires_at) == saturated, "identity.expires_at is not exp",
        *payload_text);
  if (const json::value* name = claims->if_contains("name"))
    check(id.name == std::string_view(name->get_string()), "identity.name is not name", *payload_text);
  if (const json::value* rc = claims->if_contains("room_config")) {
    const auto again = parse_object(id.room_config_json);
    check(again.has_value(), "room_config_json is not a JSON object", id.room_config_json);
    check(nearly_same(json::value(*again), *rc), "room_config_json is not the room_config claim",
          id.room_config_json);
  } else {
    check(id.room_config_json.empty(), "room_config_json without a room_config claim");
  }
}

struct Verifiers {
  std::unique_ptr<JwtVerifier> open, strict;
  Rules open_rules, strict_rules;
};

const Verifiers& verifiers() {
  static const Verifiers v = [] {
    Verifiers r;
    VerifierConfig a;
    a.hs256_secret = kSecret;
    a.public_key_pems = {keys().rsa_pem, keys().ec_pem};
    a.leeway_s = 30;
    VerifierConfig b = a;
    b.issuer = kIssuer;
    b.audience = kAudience;
    b.leeway_s = 0;
    r.open_rules = {a.leeway_s, "", ""};
    r.strict_rules = {b.leeway_s, kIssuer, kAudience};
    r.open = std::make_unique<JwtVerifier>(std::move(a));
    r.strict = std::make_unique<JwtVerifier>(std::move(b));
    return r;
  }();
  return v;
}

std::string structured_token(std::string_view in) {
  std::string_view header = R"({"alg":"HS256","typ":"JWT"})";
  std::string_view payload = in;
  if (const size_t nl = in.find('\n'); nl != std::string_view::npos) {
    header = in.substr(0, nl);
    payload = in.substr(nl + 1);
  }
  std::string token = b64url_encode(header);
  token.push_back('.');
  token += b64url_encode(payload);
  std::string sig;
  if (header.find("ES256") != std::string_view::npos) {
    sig = sign(keys().ec, token, true);
  } else if (header.find("RS256") != std::string_view::npos) {
    sig = sign(keys().rsa, token, false);
  } else {
    sig = hmac_sha256(token);
  }
  token.push_back('.');
  token += b64url_encode(sig);
  return token;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  verifiers();  // key generation once, outside the timed inputs
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string token = !in.empty() && in.front() == '{' ? structured_token(in) : std::string(in);
  const Verifiers& v = verifiers();
  check_result(v.open->verify(token, kNow), token, v.open_rules);
  check_result(v.strict->verify(token, kNow), token, v.strict_rules);
  return 0;
}
