// service/config.h — server settings: defaults < TOML file < environment < flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::service {

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string config_file;

  std::string jwt_hs256_secret;
  std::vector<std::string> jwt_public_key_files;
  std::string jwt_issuer;
  std::string jwt_audience;

  std::string web_root = "web";
  std::string log_format = "text";  // text | json
  std::string log_level = "info";
  bool dev = false;

  unsigned threads = 0;  // 0: one event loop per core
  unsigned heartbeat_s = 20;
  unsigned hello_timeout_s = 10;
  size_t max_frame_bytes = 64 * 1024;
  size_t max_room_peers = 50;
  unsigned shutdown_grace_s = 5;

  // Per connection (0 = unlimited): token buckets on frames and bytes received.
  double max_msgs_per_s = 200;
  double msg_burst = 1000;
  double max_bytes_per_s = 1024 * 1024;
  double bytes_burst = 4 * 1024 * 1024;
  unsigned rate_limit_close_after = 100;  // rate-limited frames within 10 s before close 4429
  size_t max_rooms_per_conn = 16;
  size_t max_queued_bytes = 4 * 1024 * 1024;  // outbound; past it the reader is too slow (close 1008)

  // Admission (0 = unlimited).
  size_t max_connections = 100000;  // server-wide; beyond: 503 + Retry-After
  size_t max_conns_per_ip = 256;    // open WebSockets per client address; beyond: 429
  double conn_rate_per_ip = 20;     // new WebSockets per second per client address; beyond: 429
  double conn_burst_per_ip = 100;
  unsigned upgrade_timeout_s = 10;  // to send a complete HTTP request (slowloris)

  std::vector<std::string> allowed_origins;  // browsers' Origin must be one of these; empty: any
  std::vector<std::string> trusted_proxies;  // X-Forwarded-For is believed only from these

  std::string tls_cert_file;  // PEM chain; with tls_key_file, serve https/wss only
  std::string tls_key_file;

  // Admin API: this key as `Authorization: Bearer KEY`, or a token with grants.admin.
  std::string admin_key;

  // Webhooks: POSTed to every URL on room and peer events, signed with the secret.
  std::vector<std::string> webhook_urls;
  std::string webhook_secret;
  std::string webhook_ca_file;         // https receivers: a PEM CA to trust besides the system's
  size_t webhook_queue = 10000;        // deliveries waiting (all URLs); beyond, dropped and counted
  unsigned webhook_max_attempts = 5;   // first try included
  unsigned webhook_retry_ms = 500;     // first retry delay; doubles each time, at most 60 s
  unsigned webhook_timeout_ms = 5000;  // per attempt: connect, send, answer

  // Session resume and graceful drain.
  unsigned resume_window_s = 30;             // a dropped session waits this long to be resumed; 0: off
  size_t resume_buffer_messages = 1000;      // per session: recent frames kept for replay
  size_t resume_buffer_bytes = 1024 * 1024;  // ... and their bytes; parked past either: session ends
  unsigned drain_spread_s = 5;               // SIGTERM: connections are closed spread over this time
};

// Splits "HOST:PORT", "[v6]:PORT" or ":PORT". False when malformed.
bool parse_listen(const std::string& s, std::string& host, uint16_t& port);

// Builds the configuration from argv, SWITCHBOARD_* variables and the TOML file
// named by --config or SWITCHBOARD_CONFIG. Returns nullopt after printing help,
// the version or an error; `exit_code` then says how the process should exit.
std::optional<Config> load_config(int argc, char** argv, int& exit_code);

}  // namespace sb::service
