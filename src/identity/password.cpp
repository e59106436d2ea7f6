#include "identity/password.h"

#include <sodium.h>

#include <stdexcept>

namespace sb::identity {

namespace {

void init() {
  static const int ok = sodium_init();  // thread-safe; idempotent
  if (ok < 0) throw std::runtime_error("libsodium cannot be initialised");
}

}  // namespace

std::string hash_password(std::string_view password) {
  init();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    throw std::runtime_error("password hashing failed (out of memory)");
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  init();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

void verify_dummy_password(std::string_view password) {
  // Made once, with the same parameters as real hashes, from a random password.
  static const std::string dummy = [] {
    init();
    unsigned char random[16];
    randombytes_buf(random, sizeof random);
    return hash_password(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  }();
  (void)verify_password(dummy, password);
}

}  // namespace sb::identity
