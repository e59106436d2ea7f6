#include "auth/token_signer.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "auth/base64url.h"

namespace sb::auth {

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

}  // namespace

struct TokenSigner::Impl {
  bool es256 = false;
  std::string secret;
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key;
  std::string public_pem;
};

TokenSigner::TokenSigner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenSigner::TokenSigner(TokenSigner&&) noexcept = default;
TokenSigner& TokenSigner::operator=(TokenSigner&&) noexcept = default;
TokenSigner::~TokenSigner() = default;

TokenSigner TokenSigner::hs256(std::string secret) {
  if (secret.empty()) throw std::invalid_argument("HS256 signing needs a non-empty secret");
  auto impl = std::make_unique<Impl>();
  impl->secret = std::move(secret);
  return TokenSigner(std::move(impl));
}

TokenSigner TokenSigner::es256(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  if (!bio) throw std::runtime_error("ES256 key: out of memory");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::invalid_argument("ES256 key: not a PEM private key");
  char group[64] = {0};
  size_t group_len = 0;
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
      !EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof group, &group_len) ||
      std::string_view(group, group_len) != "prime256v1")
    throw std::invalid_argument("ES256 key: not an EC P-256 (prime256v1) private key");
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  if (!out || !PEM_write_bio_PUBKEY(out.get(), key.get()))
    throw std::runtime_error("ES256 key: cannot derive the public key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  auto impl = std::make_unique<Impl>();
  impl->es256 = true;
  impl->public_pem.assign(data, static_cast<size_t>(n));
  impl->key = std::move(key);
  return TokenSigner(std::move(impl));
}

const char* TokenSigner::alg() const {
  return impl_->es256 ? "ES256" : "HS256";
}

const std::string& TokenSigner::public_key_pem() const {
  return impl_->public_pem;
}

// ES256: OpenSSL produces a DER ECDSA-Sig-Value; JWS wants R||S, each
// left-padded to 32 bytes (RFC 7518 §3.4).
std::string TokenSigner::sign(const TokenSpec& spec) const {
  if (!impl_->es256) return sign_hs256(impl_->secret, spec);
  std::string input = b64url_encode(R"({"alg":"ES256","typ":"JWT"})");
  input.push_back('.');
  input += b64url_encode(token_claims_json(spec));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  size_t der_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    throw std::runtime_error("ES256: signing failed");
  std::string der(der_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    throw std::runtime_error("ES256: signing failed");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)), &ECDSA_SIG_free);
  if (!sig) throw std::runtime_error("ES256: bad signature encoding");
  unsigned char raw[64];
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw + 32, 32) != 32)
    throw std::runtime_error("ES256: bad signature size");
  input.push_back('.');
  input += b64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  return input;
}

}  // namespace sb::auth
