#include "auth/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json.hpp>

#include "auth/base64url.h"

namespace sb::auth {

namespace json = boost::json;

const char* to_string(JwsAlg a) {
  return a == JwsAlg::rs256 ? "RS256" : "ES256";
}

namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn bn(const std::string& bytes) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()),
                      nullptr));
}

// Builds a public EVP_PKEY of `type` ("RSA" or "EC") from `params`. Null on failure.
std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  const bool ok = params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  // The point must be on the curve (EVP_PKEY_fromdata does not check it) and the RSA key sane.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  const bool valid = check != nullptr && EVP_PKEY_public_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!valid) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

std::optional<std::string> member_b64(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return b64url_decode(std::string_view(v->get_string()));
}

std::shared_ptr<EVP_PKEY> rsa_key(const json::object& k) {
  auto n = member_b64(k, "n"), e = member_b64(k, "e");
  if (!n || !e || n->empty() || e->empty()) return nullptr;
  Bn bn_n = bn(*n), bn_e = bn(*e);
  if (!bn_n || !bn_e || BN_num_bits(bn_n.get()) < 2048) return nullptr;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get()) == 1)
    key = from_params("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

std::shared_ptr<EVP_PKEY> ec_p256_key(const json::object& k) {
  const json::value* crv = k.if_contains("crv");
  if (!crv || !crv->is_string() || crv->get_string() != "P-256") return nullptr;
  auto x = member_b64(k, "x"), y = member_b64(k, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1)
    key = from_params("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

}  // namespace

std::optional<Jwks> Jwks::parse(std::string_view text, std::string& error, size_t* skipped) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  const json::value* keys = doc.get_object().if_contains("keys");
  if (!keys || !keys->is_array()) {
    error = "no \"keys\" array";
    return std::nullopt;
  }
  Jwks out;
  size_t skip = 0;
  ERR_set_mark();
  for (const json::value& kv : keys->get_array()) {
    const json::object* k = kv.if_object();
    if (!k) {
      ++skip;
      continue;
    }
    auto str = [&](const char* key) -> std::string_view {
      const json::value* v = k->if_contains(key);
      return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
    };
    const std::string_view kty = str("kty"), use = str("use"), alg = str("alg");
    if (!use.empty() && use != "sig") {
      ++skip;
      continue;
    }
    Jwk jwk;
    jwk.kid = std::string(str("kid"));
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      jwk.alg = JwsAlg::rs256;
      jwk.key = rsa_key(*k);
    } else if (kty == "EC" && (alg.empty() || alg == "ES256")) {
      jwk.alg = JwsAlg::es256;
      jwk.key = ec_p256_key(*k);
    }
    if (!jwk.key) {
      ++skip;
      continue;
    }
    out.keys.push_back(std::move(jwk));
  }
  ERR_pop_to_mark();
  if (skipped) *skipped = skip;
  return out;
}

const Jwk* Jwks::find(std::string_view kid, bool has_kid, JwsAlg alg) const {
  const Jwk* found = nullptr;
  for (const Jwk& k : keys) {
    if (has_kid) {
      if (k.kid == kid) return k.alg == alg ? &k : nullptr;
    } else if (k.alg == alg) {
      if (found) return nullptr;  // ambiguous without a kid
      found = &k;
    }
  }
  return found;
}

bool verify_jws(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input, std::string_view signature) {
  std::string der;
  if (alg == JwsAlg::es256) {
    // JWS carries R||S; OpenSSL wants a DER ECDSA-Sig-Value.
    if (signature.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(sig);
      return false;
    }
    unsigned char* buf = nullptr;
    const int len = i2d_ECDSA_SIG(sig, &buf);
    ECDSA_SIG_free(sig);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
    OPENSSL_free(buf);
    signature = der;
  } else if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) {
    return false;
  }
  ERR_set_mark();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_pop_to_mark();
  return ok;
}

}  // namespace sb::auth
