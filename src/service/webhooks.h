// service/webhooks.h — room and peer events POSTed to operators' URLs.
//
// Each event (room_started, room_finished, peer_joined, peer_left) becomes one
// JSON body, signed with HMAC-SHA256 under the configured secret, and is POSTed
// to every configured URL:
//   X-Switchboard-Signature: sha256=<hex HMAC-SHA256(secret, body)>
//   X-Switchboard-Id:        the event id (also in the body; the same on every retry)
//   X-Switchboard-Timestamp: the event's Unix time in seconds (= created_at in the body)
// A delivery that fails (no connection, timeout, non-2xx) is retried after
// retry_ms, then twice that, ... (at most 60 s), up to max_attempts in all.
// https:// URLs are verified against the system's trust store (plus ca_file),
// with the certificate required to name the URL's host; TLS 1.2 or later.
//
// Threads: publish() is called by the Hub under its directory lock, on any
// event loop: it only counts the event against the bounded queue and posts it
// to the webhook thread (no I/O, no formatting, never blocks). Everything else
// — formatting, signing, HTTP — happens on the webhook thread's own
// io_context. When the queue is full the event is dropped and counted
// (switchboard_webhooks_dropped_total). Deliveries are not ordered across
// retries: receivers order by created_at and deduplicate by id.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "service/metrics.h"
#include "service/room_events.h"

namespace sb::service {

struct WebhookConfig {
  std::vector<std::string> urls;  // http(s)://host[:port]/path
  std::string secret;
  std::string ca_file;   // https: a PEM CA to trust besides the system's (private receivers)
  size_t queue = 10000;  // deliveries waiting, in flight or waiting to retry
  unsigned max_attempts = 5;
  unsigned retry_ms = 500;
  unsigned timeout_ms = 5000;
  size_t max_in_flight = 8;  // concurrent HTTP requests
};

// The JSON body for `e` with event id `id`. Pure; for tests and the sender.
std::string webhook_body(const RoomEvent& e, std::string_view id);

// "sha256=" + lower-case hex of HMAC-SHA256(secret, body).
std::string webhook_signature(std::string_view secret, std::string_view body);

// Delay before attempt `attempt` (2 = the first retry): retry_ms * 2^(attempt-2), at most 60 s.
std::chrono::milliseconds webhook_backoff(unsigned retry_ms, unsigned attempt);

class Webhooks final : public RoomEventSink {
 public:
  // Throws std::invalid_argument naming a URL that is not http(s)://host[:port][/path],
  // or a CA file that cannot be read.
  Webhooks(WebhookConfig cfg, WebhookMetrics& metrics);
  ~Webhooks() override;

  // Starts the webhook thread.
  void start();
  // Any thread; never blocks. See the header comment.
  void publish(RoomEvent event) override;
  // Takes no new events; waits up to `grace` for the queue to empty, then
  // abandons what is left and joins the thread. Idempotent.
  void stop(std::chrono::milliseconds grace);

  size_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<size_t> pending_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sb::service
