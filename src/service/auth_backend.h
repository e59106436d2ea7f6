// service/auth_backend.h — checking a password with another server.
//
// Instead of the user store, POST /v1/token may ask an operator's HTTP(S)
// service: the server POSTs
//   {"username": "...", "password": "..."}       (Content-Type: application/json)
// to the configured URL and expects, when the credentials are good,
//   200 {"user": "<id, becomes sub>", "name": "<display name>", "grants": {...}}
// (`name` and `grants` optional; grants as in auth/grants.h, defaults when absent).
// Any 4xx answer means "wrong credentials"; a 5xx answer or a 200 whose body is
// not as above is a broken backend; no answer within the timeout (connect,
// TLS, send, receive together) is an unavailable backend.
// https:// URLs are verified against the system's trust store plus an optional
// CA file, with the certificate required to name the URL's host; TLS 1.2+.
// Thread safety: check() is const and blocks; it is meant for worker threads,
// never an event loop (each call runs its own small io_context).
#pragma once

#include <memory>
#include <string>

#include "identity/token_service.h"

namespace sb::service {

struct AuthBackendConfig {
  std::string url;  // http(s)://host[:port][/path]
  std::string ca_file;
  unsigned timeout_ms = 5000;
};

struct BackendAnswer {
  enum class Kind { ok, rejected, unavailable, bad_response } kind = Kind::unavailable;
  identity::Principal principal;  // when ok
  std::string detail;             // for logs; never contains the password
};

class AuthBackend {
 public:
  // Throws std::invalid_argument for a URL that is not http(s)://HOST[:PORT][/PATH]
  // or a CA file that cannot be read.
  explicit AuthBackend(AuthBackendConfig cfg);
  ~AuthBackend();

  // One POST; blocks for at most the timeout.
  BackendAnswer check(const std::string& username, const std::string& password) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a 200 body: {"user": non-empty string, "name"?: string, "grants"?: object}.
// Pure; false with `detail` set when malformed.
bool parse_backend_answer(const std::string& body, identity::Principal& out, std::string& detail);

}  // namespace sb::service
