// service/oidc_keys.h — the OpenID provider's signing keys, fetched off the event loops.
//
// At start: GET <issuer>/.well-known/openid-configuration (its `issuer` must
// equal the configured one), then GET its `jwks_uri`; the keys go to the
// OidcVerifier. Later, a token with an unknown `kid` (key rotation) asks for a
// refetch (discovery again, then the JWKS). Refetches are rate-limited: at most
// one started per `refetch_interval_s` (the fetch at start does not count);
// asking while a fetch is under way waits for that fetch. A failed fetch keeps
// the previous keys.
//
// Threads: all HTTP(S) runs on the fetcher's own thread and io_context, with
// one deadline per request (`timeout_ms`); refetch() only posts to it. The
// `done` callbacks run on the fetcher thread: callers post their own work back
// to their loops. https:// is verified against the system's trust store plus
// `ca_file`; http:// is allowed (loopback IdPs in tests and development).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "auth/oidc_verifier.h"

namespace sb::service {

struct OidcKeysConfig {
  std::string issuer;  // discovery at issuer + "/.well-known/openid-configuration"
  std::string ca_file;
  unsigned refetch_interval_s = 60;
  unsigned timeout_ms = 5000;
  size_t max_body_bytes = 1 << 20;
};

class OidcKeys final : public auth::KeyRefresher {
 public:
  // Throws std::invalid_argument for an issuer that is not http(s)://host[:port][/path]
  // or a CA file that cannot be read.
  OidcKeys(OidcKeysConfig cfg, auth::OidcVerifier& verifier);
  ~OidcKeys() override;

  // Starts the thread and the first fetch.
  void start();
  // Cancels what is under way (pending `done` callbacks are dropped) and joins. Idempotent.
  void stop();
  void refetch(std::function<void()> done) override;

  // Completed fetches (successful or not), for logs and tests.
  uint64_t fetches() const { return fetches_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> fetches_{0};
  std::thread thread_;
};

}  // namespace sb::service
