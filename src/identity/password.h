// identity/password.h — password hashing with Argon2id (libsodium).
//
// Hashes are libsodium's crypto_pwhash_str strings ("$argon2id$v=19$m=65536,
// t=2,p=1$salt$hash"): algorithm, parameters and a random salt are inside the
// string, so parameters can be raised later without breaking stored hashes.
// Parameters: crypto_pwhash_OPSLIMIT_INTERACTIVE (2 passes) and
// crypto_pwhash_MEMLIMIT_INTERACTIVE (64 MiB), about 50-100 ms of one core.
// That is deliberately slow: never call these on an event loop thread.
// Thread safety: every function may run on several threads at once (each call
// allocates its own 64 MiB work area).
#pragma once

#include <string>
#include <string_view>

namespace sb::identity {

// Passwords longer than this are refused (hashing cost does not depend on
// length, but a bound keeps request bodies and memory small).
inline constexpr size_t kMaxPasswordBytes = 1024;

// A new crypto_pwhash_str hash of `password` with a fresh salt. Throws
// std::runtime_error when libsodium cannot initialise or allocate.
std::string hash_password(std::string_view password);

// True when `password` matches `hash` (constant-time comparison inside libsodium).
// False for a malformed hash. Cost: one Argon2id computation.
bool verify_password(const std::string& hash, std::string_view password);

// Runs one verification of `password` against a fixed dummy hash with the same
// parameters and discards the result: what an unknown user costs, so a failed
// login takes the same time whether or not the user exists.
void verify_dummy_password(std::string_view password);

}  // namespace sb::identity
