// service/token_endpoint.h — POST /v1/token: a password for a signed token.
//
//   POST /v1/token  {"username", "password", "room"?, "ttl_s"?}
//   200 {"token", "expires_at"}
//   400 bad-request · 401 invalid-credentials · 403 forbidden (room not granted)
//   405 method-not-allowed · 415 unsupported-media-type · 429 rate-limited
//   (Retry-After) · 502 auth-backend-error · 503 auth-backend-unavailable,
//   user-store-unavailable or busy (Retry-After)
// Who the user is comes from the user store (identity/user_store.h, Argon2id
// hashes) or from an external backend (auth_backend.h). Both are slow (an
// Argon2id verification is ~50-100 ms of CPU; a backend call is network), so
// they run on a small pool of worker threads of this endpoint, never on an
// event loop: handle() only parses, checks the throttle and queues the job;
// the worker answers through the `done` callback. At most `max_pending` jobs
// wait or run; beyond that the request is refused at once with 503 busy.
// Unknown user and wrong password give the same status, body and cost (a
// dummy hash is verified for unknown users).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "auth/token_signer.h"
#include "identity/login_throttle.h"
#include "identity/token_service.h"
#include "service/http_routes.h"

namespace sb::service {

class AuditSink;

struct TokenEndpointConfig {
  identity::TokenPolicy policy;
  identity::ThrottleLimits throttle;
  std::string user_db;      // the user store, or
  std::string backend_url;  // an external backend (exactly one of the two)
  std::string backend_ca_file;
  unsigned backend_timeout_ms = 5000;
  unsigned workers = 2;
  size_t max_pending = 64;
};

class TokenEndpoint {
 public:
  // Opens the user store or checks the backend URL and starts the workers.
  // Throws std::runtime_error / std::invalid_argument with a readable message.
  TokenEndpoint(TokenEndpointConfig cfg, auth::TokenSigner signer, AuditSink* audit);
  // Waits for running jobs (a backend call is bounded by its timeout); queued
  // ones are dropped without an answer (their connections just close).
  ~TokenEndpoint();

  // On an event loop: validates, throttles, queues. `done` is called exactly
  // once, on this thread (for early refusals) or on a worker.
  void handle(const Request& req, const std::string& client_ip, HttpContext::Done done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::service
