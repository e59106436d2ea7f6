#include "auth/oidc_verifier.h"

#include <boost/json.hpp>
#include <cmath>

#include "auth/base64url.h"

namespace sb::auth {

namespace json = boost::json;

namespace {

constexpr size_t kMaxTokenBytes = 64 * 1024;

VerifyResult reject(TokenError e, std::string detail) {
  VerifyResult r;
  r.error = e;
  r.detail = std::move(detail);
  return r;
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

std::optional<int64_t> numeric_date(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64())
    return v.get_uint64() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX
                                                             : static_cast<int64_t>(v.get_uint64());
  if (!v.is_double()) return std::nullopt;
  const double d = std::ceil(v.get_double());
  if (!std::isfinite(d)) return std::nullopt;
  if (d >= 0x1p62) return INT64_MAX / 2;
  if (d < -0x1p62) return INT64_MIN / 2;
  return static_cast<int64_t>(d);
}

// The member at dotted path `claim`, or null.
const json::value* find_claim(const json::object& claims, std::string_view claim) {
  const json::object* o = &claims;
  for (;;) {
    const size_t dot = claim.find('.');
    const json::value* v = o->if_contains(claim.substr(0, dot));
    if (!v || dot == std::string_view::npos) return v;
    o = v->if_object();
    if (!o) return nullptr;
    claim.remove_prefix(dot + 1);
  }
}

bool holds(const json::value& v, std::string_view value) {
  if (const json::string* s = v.if_string()) {
    std::string_view text(*s);
    size_t start = 0;
    while (start <= text.size()) {
      size_t sp = text.find(' ', start);
      if (sp == std::string_view::npos) sp = text.size();
      if (text.substr(start, sp - start) == value) return true;
      start = sp + 1;
    }
    return false;
  }
  if (const json::array* a = v.if_array()) {
    for (const json::value& e : *a)
      if (const json::string* s = e.if_string(); s && std::string_view(*s) == value) return true;
  }
  return false;
}

Grants map_object(const std::vector<GrantRule>& rules, const json::object& claims) {
  Grants g;
  std::optional<bool> publish, subscribe, data, admin;
  auto merge = [](std::optional<bool>& acc, const std::optional<bool>& rule) {
    if (rule) acc = (acc.value_or(false) || *rule);
  };
  for (const GrantRule& r : rules) {
    const json::value* v = find_claim(claims, r.claim);
    if (!v || !holds(*v, r.value)) continue;
    g.rooms.insert(g.rooms.end(), r.rooms.begin(), r.rooms.end());
    merge(publish, r.publish);
    merge(subscribe, r.subscribe);
    merge(data, r.data);
    merge(admin, r.admin);
  }
  if (publish) g.publish = *publish;
  if (subscribe) g.subscribe = *subscribe;
  if (data) g.data = *data;
  if (admin) g.admin = *admin;
  return g;
}

}  // namespace

Grants map_grants(const std::vector<GrantRule>& rules, std::string_view claims_json) {
  auto claims = parse_object(claims_json);
  return claims ? map_object(rules, *claims) : Grants{};
}

std::string peek_issuer(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return {};
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return {};
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return {};
  auto payload = b64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return {};
  auto claims = parse_object(*payload);
  if (!claims) return {};
  const json::value* iss = claims->if_contains("iss");
  return iss && iss->is_string() ? std::string(iss->get_string()) : std::string();
}

OidcVerifier::OidcVerifier(OidcConfig cfg) : cfg_(std::move(cfg)), keys_(std::make_shared<Jwks>()) {}

void OidcVerifier::set_keys(std::shared_ptr<const Jwks> keys) {
  std::lock_guard lock(mu_);
  keys_ = std::move(keys);
}

std::shared_ptr<const Jwks> OidcVerifier::keys() const {
  std::lock_guard lock(mu_);
  return keys_;
}

VerifyResult OidcVerifier::verify(std::string_view token, int64_t now, bool* unknown_kid) const {
  if (unknown_kid) *unknown_kid = false;
  if (token.empty()) return reject(TokenError::malformed, "empty token");
  if (token.size() > kMaxTokenBytes) return reject(TokenError::malformed, "token larger than 64 KiB");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return reject(TokenError::malformed, "not three dot-separated parts");
  const auto header_text = b64url_decode(token.substr(0, dot1));
  const auto payload_text = b64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = b64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) return reject(TokenError::malformed, "not base64url");
  const auto header = parse_object(*header_text);
  if (!header) return reject(TokenError::malformed, "header is not a JSON object");
  const auto claims = parse_object(*payload_text);
  if (!claims) return reject(TokenError::malformed, "payload is not a JSON object");

  const json::value* alg_v = header->if_contains("alg");
  if (!alg_v || !alg_v->is_string()) return reject(TokenError::malformed, "no alg");
  JwsAlg alg;
  if (alg_v->get_string() == "RS256")
    alg = JwsAlg::rs256;
  else if (alg_v->get_string() == "ES256")
    alg = JwsAlg::es256;
  else
    return reject(TokenError::unsupported_alg,
                  "alg " + std::string(alg_v->get_string()) + " (OpenID tokens: RS256 or ES256)");
  const json::value* kid_v = header->if_contains("kid");
  if (kid_v && !kid_v->is_string()) return reject(TokenError::malformed, "kid is not a string");
  const std::string_view kid = kid_v ? std::string_view(kid_v->get_string()) : std::string_view();

  const std::shared_ptr<const Jwks> keys = this->keys();
  const Jwk* key = keys->find(kid, kid_v != nullptr, alg);
  if (!key) {
    if (unknown_kid) *unknown_kid = true;
    return reject(TokenError::no_key, kid_v ? "no " + std::string(to_string(alg)) + " key with kid '" +
                                                  std::string(kid) + "' in the issuer's JWKS"
                                            : "no kid and no single " + std::string(to_string(alg)) + " key");
  }
  if (!verify_jws(alg, key->key.get(), token.substr(0, dot2), *signature))
    return reject(TokenError::bad_signature, "signature does not verify");

  const json::value* iss = claims->if_contains("iss");
  if (!iss || !iss->is_string() || iss->get_string() != cfg_.issuer)
    return reject(TokenError::wrong_issuer, "iss is not " + cfg_.issuer);
  if (!cfg_.audience.empty()) {
    const json::value* aud = claims->if_contains("aud");
    bool ok = false;
    if (aud && aud->is_string()) ok = aud->get_string() == cfg_.audience;
    if (aud && aud->is_array())
      for (const json::value& a : aud->get_array())
        if (a.is_string() && a.get_string() == cfg_.audience) ok = true;
    if (!ok) return reject(TokenError::wrong_audience, "aud does not contain " + cfg_.audience);
  }
  const json::value* exp_v = claims->if_contains("exp");
  if (!exp_v) return reject(TokenError::missing_claim, "no exp");
  const auto exp = numeric_date(*exp_v);
  if (!exp) return reject(TokenError::bad_claim, "exp is not a number");
  if (*exp + cfg_.leeway_s <= now) return reject(TokenError::expired, "expired");
  if (const json::value* nbf_v = claims->if_contains("nbf")) {
    const auto nbf = numeric_date(*nbf_v);
    if (!nbf) return reject(TokenError::bad_claim, "nbf is not a number");
    if (*nbf - cfg_.leeway_s > now) return reject(TokenError::not_yet_valid, "not yet valid");
  }
  const json::value* sub = claims->if_contains("sub");
  if (!sub) return reject(TokenError::missing_claim, "no sub");
  if (!sub->is_string() || sub->get_string().empty())
    return reject(TokenError::bad_claim, "sub is not a string");

  Identity id;
  id.user = UserId(std::string(sub->get_string()));
  for (const char* k : {"name", "preferred_username"}) {
    const json::value* n = claims->if_contains(k);
    if (n && n->is_string() && !n->get_string().empty()) {
      id.name = std::string(n->get_string());
      break;
    }
  }
  id.grants = map_object(cfg_.grants, *claims);
  id.expires_at = *exp;
  VerifyResult r;
  r.identity = std::move(id);
  return r;
}

}  // namespace sb::auth
