#include "auth/jwt_verifier.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <algorithm>
#include <boost/json.hpp>
#include <climits>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "auth/base64url.h"

namespace sb::auth {

namespace json = boost::json;

namespace {

// Far above any real access token (hundreds of bytes to a few KiB), small enough
// that a hostile client cannot make us decode and parse megabytes per attempt.
constexpr size_t kMaxTokenBytes = 64 * 1024;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

enum class Alg { hs256, rs256, es256 };

const char* alg_name(Alg a) {
  switch (a) {
    case Alg::hs256: return "HS256";
    case Alg::rs256: return "RS256";
    case Alg::es256: return "ES256";
  }
  return "?";
}

jwt_alg_t libjwt_alg(Alg a) {
  switch (a) {
    case Alg::hs256: return JWT_ALG_HS256;
    case Alg::rs256: return JWT_ALG_RS256;
    case Alg::es256: return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

struct PublicKey {
  Alg alg;                 // RS256 or ES256, fixed by the key type at load time
  std::string pem;         // handed to libjwt on every verify: libjwt 1.x only takes PEM bytes
  size_t signature_bytes;  // RS256: modulus size; ES256: 64 (raw R||S, RFC 7518 §3.4)
};

// Parses `text` as a JSON object. Boost.JSON's default options (nesting depth 32,
// strict UTF-8, no comments or trailing commas) bound what a hostile token can
// make us do, and a later recursive walk of the value cannot go deep.
std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// Reads an RFC 7519 NumericDate (integer or fractional seconds). Rounded up, so
// "x + leeway <= now" and "x - leeway > now" keep their exact meaning with an
// integer `now`; saturated beyond int64. Infinities (Boost parses 1e400 as inf)
// are refused: an "exp" of +inf would be a token that never expires. (libjwt's
// own parser rejects such payloads today; this must not depend on it.)
std::optional<int64_t> numeric_date(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    const uint64_t u = v.get_uint64();
    return u > static_cast<uint64_t>(kInt64Max) ? kInt64Max : static_cast<int64_t>(u);
  }
  if (!v.is_double()) return std::nullopt;
  const double d = std::ceil(v.get_double());
  if (!std::isfinite(d)) return std::nullopt;
  if (d >= 0x1p63) return kInt64Max;
  if (d < -0x1p63) return kInt64Min;
  return static_cast<int64_t>(d);
}

// a + b, clamped to the int64 range instead of overflowing (exp may be huge).
int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kInt64Max : kInt64Min;
  return r;
}

// True when `v` holds a non-finite number anywhere. Boost.JSON serializes an
// infinity as `Infinity`, which is not JSON, and room_config is handed on as
// text. Recursion depth is bounded by the parser's nesting limit.
bool has_non_finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
      for (const json::value& e : v.get_array())
        if (has_non_finite(e)) return true;
      return false;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (has_non_finite(kv.value())) return true;
      return false;
    default: return false;
  }
}

// libjwt 1.10 refuses any `typ` header other than "JWT" (case-insensitively),
// e.g. RFC 9068's "at+jwt". We refuse it first so the reason is not reported as
// a bad signature; a non-string typ is malformed per RFC 7515 §4.1.9.
bool acceptable_typ(const json::value& typ) {
  const json::string* s = typ.if_string();
  if (s == nullptr || s->size() != 3) return false;
  for (size_t i = 0; i < 3; ++i) {
    if (((*s)[i] | 0x20) != "jwt"[i]) return false;
  }
  return true;
}

// Reads the `grants` claim over the defaults of Grants. Unknown members are
// ignored (a newer issuer may grant more than we know); a known member of the
// wrong type is an error rather than a default, because guessing would silently
// widen or narrow access. Returns an error detail, or nullptr on success.
const char* read_grants(const json::object& g, Grants& out) {
  if (const json::value* rooms = g.if_contains("rooms")) {
    const json::array* arr = rooms->if_array();
    if (arr == nullptr) return "grants.rooms is not an array";
    out.rooms.reserve(arr->size());
    for (const json::value& r : *arr) {
      const json::string* s = r.if_string();
      if (s == nullptr) return "grants.rooms holds a non-string";
      out.rooms.emplace_back(s->data(), s->size());
    }
  }
  struct Flag {
    const char* key;
    bool Grants::*field;
    const char* error;
  };
  static constexpr Flag kFlags[] = {
      {"publish", &Grants::publish, "grants.publish is not a bool"},
      {"subscribe", &Grants::subscribe, "grants.subscribe is not a bool"},
      {"data", &Grants::data, "grants.data is not a bool"},
      {"admin", &Grants::admin, "grants.admin is not a bool"},
  };
  for (const Flag& f : kFlags) {
    if (const json::value* v = g.if_contains(f.key)) {
      if (!v->is_bool()) return f.error;
      out.*f.field = v->get_bool();
    }
  }
  return nullptr;
}

VerifyResult reject(TokenError e, std::string detail) {
  VerifyResult r;
  r.error = e;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

const char* to_string(TokenError e) {
  switch (e) {
    case TokenError::none: return "none";
    case TokenError::malformed: return "malformed";
    case TokenError::unsupported_alg: return "unsupported-alg";
    case TokenError::no_key: return "no-key";
    case TokenError::bad_signature: return "bad-signature";
    case TokenError::expired: return "expired";
    case TokenError::not_yet_valid: return "not-yet-valid";
    case TokenError::wrong_issuer: return "wrong-issuer";
    case TokenError::wrong_audience: return "wrong-audience";
    case TokenError::missing_claim: return "missing-claim";
    case TokenError::bad_claim: return "bad-claim";
  }
  return "unknown";
}

// HS256 is checked by our code, not libjwt: libjwt 1.x computes the HMAC with
// OpenSSL 3's one-shot HMAC(), which fetches the algorithm from the provider on
// every call, and decodes and parses header and payload a second time (jansson);
// in a join storm that was 39 % of all server instructions (callgrind), ~80,000
// per token. Here the key is set once into a prototype context; each check
// copies it (EVP_MAC_CTX_dup: no fetch, no key schedule), MACs the signing
// input and compares in constant time. O(token size). RS256 and ES256 stay
// with libjwt.
class Hs256Key {
 public:
  explicit Hs256Key(const std::string& secret) {
    if (secret.empty()) return;
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) throw std::runtime_error("HMAC is not available from OpenSSL");
    proto_ = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);  // the context holds its own reference
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (proto_ == nullptr || EVP_MAC_init(proto_, reinterpret_cast<const unsigned char*>(secret.data()),
                                          secret.size(), params) != 1) {
      EVP_MAC_CTX_free(proto_);
      throw std::runtime_error("HMAC-SHA256 context could not be set up");
    }
  }
  ~Hs256Key() { EVP_MAC_CTX_free(proto_); }
  Hs256Key(const Hs256Key&) = delete;
  Hs256Key& operator=(const Hs256Key&) = delete;

  // True when `signature` (decoded) is HMAC-SHA256(secret, signing_input). Thread-safe.
  bool verifies(std::string_view signing_input, const std::string& signature) const {
    if (proto_ == nullptr || signature.size() != 32) return false;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(proto_);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    const bool done = ctx != nullptr &&
                      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(signing_input.data()),
                                     signing_input.size()) == 1 &&
                      EVP_MAC_final(ctx, mac, &len, sizeof mac) == 1;
    EVP_MAC_CTX_free(ctx);
    return done && len == 32 && CRYPTO_memcmp(mac, signature.data(), 32) == 0;
  }

 private:
  EVP_MAC_CTX* proto_ = nullptr;
};

struct JwtVerifier::Impl {
  VerifierConfig cfg;
  std::vector<PublicKey> keys;
  std::unique_ptr<Hs256Key> hs256;

  ~Impl() { OPENSSL_cleanse(cfg.hs256_secret.data(), cfg.hs256_secret.size()); }

  bool has_key_for(Alg alg) const {
    if (alg == Alg::hs256) return !cfg.hs256_secret.empty();
    for (const PublicKey& k : keys)
      if (k.alg == alg) return true;
    return false;
  }

  VerifyResult verify(std::string_view token, int64_t now) const;
  VerifyResult check_claims(const json::object& claims, int64_t now) const;
};

namespace {

// Reads PEM public key `index` and decides its algorithm from the key itself,
// never from a token: RSA -> RS256, EC on P-256 -> ES256. Throws
// std::invalid_argument naming the key otherwise. Runs once per key at startup.
PublicKey load_public_key(const std::string& pem, size_t index) {
  const std::string which = "public key #" + std::to_string(index);
  if (pem.empty() || pem.size() > INT_MAX) throw std::invalid_argument(which + ": empty or oversized PEM");
  ERR_set_mark();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = bio != nullptr ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  ERR_pop_to_mark();  // leave no stale errors on this thread's queue for TLS code to trip over
  if (pkey == nullptr) throw std::invalid_argument(which + ": not a PEM public key (\"BEGIN PUBLIC KEY\")");

  PublicKey key{Alg::rs256, pem, 0};
  std::string error;
  const int type = EVP_PKEY_get_base_id(pkey);
  if (type == EVP_PKEY_RSA) {
    key.alg = Alg::rs256;
    key.signature_bytes = static_cast<size_t>(EVP_PKEY_get_size(pkey));
  } else if (type == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1 ||
        OBJ_txt2nid(group) != NID_X9_62_prime256v1) {
      error = which + ": EC key is not on curve P-256";
    }
    key.alg = Alg::es256;
    key.signature_bytes = 64;
  } else {
    error = which + ": neither an RSA nor an EC P-256 key";
  }
  EVP_PKEY_free(pkey);
  if (!error.empty()) throw std::invalid_argument(error);
  return key;
}

// One libjwt signature check of `token` (NUL-terminated) against `key`. libjwt
// 1.10 skips verification altogether when given no key, hence the emptiness
// check. libjwt also re-parses the header with its own JSON parser, so the
// algorithm it actually used is compared with the pinned one: no parser
// disagreement (say, duplicate "alg" members) may turn a PEM into an HMAC key.
// Cost: libjwt 1.x re-decodes the PEM on every call, ~0.3 ms with OpenSSL 3,
// five to ten times the RSA or ECDSA arithmetic itself.
bool libjwt_verifies(const std::string& token, const std::string& key, Alg alg) {
  if (key.empty() || key.size() > INT_MAX) return false;
  ERR_set_mark();
  jwt_t* jwt = nullptr;
  const int rc = jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                            static_cast<int>(key.size()));
  const bool ok = rc == 0 && jwt != nullptr && jwt_get_alg(jwt) == libjwt_alg(alg);
  if (rc == 0) jwt_free(jwt);  // on failure libjwt has freed it already
  ERR_pop_to_mark();
  return ok;
}

}  // namespace

// Cheap structural checks come first and the signature check last but one, so
// garbage costs microseconds and claims are only judged on authentic tokens.
VerifyResult JwtVerifier::Impl::verify(std::string_view token, int64_t now) const {
  if (token.empty()) return reject(TokenError::malformed, "empty token");
  if (token.size() > kMaxTokenBytes) return reject(TokenError::malformed, "token larger than 64 KiB");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return reject(TokenError::malformed, "not three dot-separated parts");

  const auto header_text = b64url_decode(token.substr(0, dot1));
  if (!header_text) return reject(TokenError::malformed, "header is not base64url");
  const auto header = parse_object(*header_text);
  if (!header) return reject(TokenError::malformed, "header is not a JSON object");

  const json::value* alg_value = header->if_contains("alg");
  const json::string* alg_text = alg_value != nullptr ? alg_value->if_string() : nullptr;
  Alg alg;
  if (alg_text != nullptr && *alg_text == "HS256") {
    alg = Alg::hs256;
  } else if (alg_text != nullptr && *alg_text == "RS256") {
    alg = Alg::rs256;
  } else if (alg_text != nullptr && *alg_text == "ES256") {
    alg = Alg::es256;
  } else {
    return reject(TokenError::unsupported_alg, "alg is not HS256, RS256 or ES256");
  }
  if (header->contains("crit"))
    return reject(TokenError::malformed, "crit header: no extensions are understood");
  if (const json::value* typ = header->if_contains("typ"); typ != nullptr && !acceptable_typ(*typ))
    return reject(TokenError::malformed, "typ header is not \"JWT\"");
  if (!has_key_for(alg))
    return reject(TokenError::no_key, std::string("no key configured for ") + alg_name(alg));

  const auto payload_text = b64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload_text) return reject(TokenError::malformed, "payload is not base64url");
  const auto claims = parse_object(*payload_text);
  if (!claims) return reject(TokenError::malformed, "payload is not a JSON object");
  const auto signature = b64url_decode(token.substr(dot2 + 1));
  if (!signature) return reject(TokenError::malformed, "signature is not base64url");

  // Signature lengths are fixed per key, so a wrong one is refused before libjwt.
  bool verified = false;
  if (alg == Alg::hs256) {
    verified = hs256->verifies(token.substr(0, dot2), *signature);
  } else {
    const std::string token_z(token);
    for (const PublicKey& k : keys) {
      if (k.alg == alg && signature->size() == k.signature_bytes && libjwt_verifies(token_z, k.pem, alg)) {
        verified = true;
        break;
      }
    }
  }
  // libjwt reports every failure as EINVAL, including payloads its own JSON
  // parser refuses (integers beyond int64, "\u0000"): all fail closed here.
  if (!verified)
    return reject(TokenError::bad_signature, std::string(alg_name(alg)) + " signature check failed");
  return check_claims(*claims, now);
}

// Type errors are reported before time and audience errors so that a token an
// issuer gets structurally wrong says so, whatever the clock reads.
VerifyResult JwtVerifier::Impl::check_claims(const json::object& claims, int64_t now) const {
  Identity id;

  const json::value* exp_value = claims.if_contains("exp");
  if (exp_value == nullptr) return reject(TokenError::missing_claim, "exp is missing");
  const auto exp = numeric_date(*exp_value);
  if (!exp) return reject(TokenError::bad_claim, "exp is not a finite number");

  const json::value* sub_value = claims.if_contains("sub");
  if (sub_value == nullptr) return reject(TokenError::missing_claim, "sub is missing");
  const json::string* sub = sub_value->if_string();
  if (sub == nullptr || sub->empty()) return reject(TokenError::bad_claim, "sub is not a non-empty string");

  std::optional<int64_t> nbf;
  if (const json::value* nbf_value = claims.if_contains("nbf")) {
    nbf = numeric_date(*nbf_value);
    if (!nbf) return reject(TokenError::bad_claim, "nbf is not a finite number");
  }

  if (const json::value* name = claims.if_contains("name")) {
    const json::string* s = name->if_string();
    if (s == nullptr) return reject(TokenError::bad_claim, "name is not a string");
    id.name.assign(s->data(), s->size());
  }

  if (const json::value* grants = claims.if_contains("grants")) {
    const json::object* g = grants->if_object();
    if (g == nullptr) return reject(TokenError::bad_claim, "grants is not an object");
    if (const char* error = read_grants(*g, id.grants)) return reject(TokenError::bad_claim, error);
  }

  if (const json::value* room_config = claims.if_contains("room_config")) {
    if (!room_config->is_object()) return reject(TokenError::bad_claim, "room_config is not an object");
    if (has_non_finite(*room_config))
      return reject(TokenError::bad_claim, "room_config holds a non-finite number");
    id.room_config_json = json::serialize(*room_config);
  }

  if (saturating_add(*exp, cfg.leeway_s) <= now) return reject(TokenError::expired, "token has expired");
  if (nbf && saturating_add(*nbf, -cfg.leeway_s) > now)
    return reject(TokenError::not_yet_valid, "token is not valid yet (nbf)");

  if (!cfg.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr) return reject(TokenError::wrong_issuer, "iss is missing");
    const json::string* s = iss->if_string();
    if (s == nullptr) return reject(TokenError::bad_claim, "iss is not a string");
    if (*s != cfg.issuer) return reject(TokenError::wrong_issuer, "iss is not the configured issuer");
  }

  if (!cfg.audience.empty()) {
    const json::value* aud = claims.if_contains("aud");
    if (aud == nullptr) return reject(TokenError::wrong_audience, "aud is missing");
    bool match = false;
    if (const json::string* s = aud->if_string()) {
      match = *s == cfg.audience;
    } else if (const json::array* list = aud->if_array()) {
      for (const json::value& a : *list) {
        const json::string* s2 = a.if_string();
        if (s2 == nullptr) return reject(TokenError::bad_claim, "aud array holds a non-string");
        if (*s2 == cfg.audience) match = true;
      }
    } else {
      return reject(TokenError::bad_claim, "aud is neither a string nor an array");
    }
    if (!match) return reject(TokenError::wrong_audience, "aud does not include the configured audience");
  }

  id.user = UserId(std::string_view(sub->data(), sub->size()));
  id.expires_at = *exp;
  VerifyResult ok;
  ok.identity = std::move(id);
  return ok;
}

// Keys are validated here, once, so verify() never meets an unusable key. A
// negative leeway is treated as zero: it would reject tokens that are valid.
JwtVerifier::JwtVerifier(VerifierConfig cfg) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->cfg.leeway_s = std::max<int64_t>(impl_->cfg.leeway_s, 0);
  const auto& pems = impl_->cfg.public_key_pems;
  impl_->keys.reserve(pems.size());
  for (size_t i = 0; i < pems.size(); ++i) impl_->keys.push_back(load_public_key(pems[i], i));
  impl_->hs256 = std::make_unique<Hs256Key>(impl_->cfg.hs256_secret);
}

JwtVerifier::~JwtVerifier() = default;

// Never throws: this is fed untrusted bytes, and the only exception left
// (allocation failure) becomes an ordinary rejection.
VerifyResult JwtVerifier::verify(std::string_view token, int64_t now) const {
  try {
    return impl_->verify(token, now);
  } catch (const std::exception&) {
    return reject(TokenError::malformed, "internal error while verifying");
  }
}

bool JwtVerifier::has_keys() const {
  return !impl_->cfg.hs256_secret.empty() || !impl_->keys.empty();
}

// Built by hand (Boost.JSON + one HMAC) rather than through libjwt: the output is
// deterministic and verify() checking it with libjwt doubles as an interop test.
// Throws std::invalid_argument on an empty secret, which would sign nothing.
std::string token_claims_json(const TokenSpec& spec) {
  json::object claims;
  claims["sub"] = spec.user.str();
  if (!spec.name.empty()) claims["name"] = spec.name;
  claims["iat"] = spec.issued_at;
  claims["exp"] = spec.expires_at;
  if (!spec.issuer.empty()) claims["iss"] = spec.issuer;
  if (!spec.audience.empty()) claims["aud"] = spec.audience;
  json::array rooms;
  for (const std::string& r : spec.grants.rooms) rooms.emplace_back(r);
  claims["grants"] = json::object{{"rooms", std::move(rooms)},
                                  {"publish", spec.grants.publish},
                                  {"subscribe", spec.grants.subscribe},
                                  {"data", spec.grants.data},
                                  {"admin", spec.grants.admin}};
  return json::serialize(claims);
}

std::string sign_hs256(const std::string& secret, const TokenSpec& spec) {
  if (secret.empty() || secret.size() > INT_MAX)
    throw std::invalid_argument("sign_hs256: empty or oversized secret");
  std::string token = b64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  token.push_back('.');
  token += b64url_encode(token_claims_json(spec));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &mac_len) == nullptr)
    throw std::runtime_error("sign_hs256: HMAC failed");
  token.push_back('.');
  token += b64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
  return token;
}

}  // namespace sb::auth
