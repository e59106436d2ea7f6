// service/config.h — server settings: defaults < TOML file < environment < flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/oidc_verifier.h"
#include "auth/turn_credentials.h"
#include "service/room_config.h"

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

  // ICE servers for clients (welcome.ice_servers, GET /v1/ice-servers): plain
  // STUN urls, and TURN servers that get per-user credentials (coturn REST scheme).
  std::vector<std::string> stun_urls;
  std::vector<auth::TurnServer> turn_servers;
  std::string turn_secret;  // for servers given with --turn-url and TOML entries without a secret
  unsigned turn_ttl_s = 3600;

  // OpenID Connect: tokens of this issuer, verified with its JWKS, grants mapped from claims.
  std::string oidc_issuer;  // empty: OIDC off
  std::string oidc_audience;
  std::string oidc_ca_file;
  unsigned oidc_refetch_interval_s = 60;  // at most one JWKS refetch on unknown kids per interval
  std::vector<auth::GrantRule> oidc_grants;
  // Identity: POST /v1/token (docs/auth.md). Enabled by user_db or auth_backend_url (not both).
  std::string user_db;               // SQLite user store (`switchboard user ...` manages it)
  std::string auth_backend_url;      // or: an HTTP(S) service that checks passwords
  std::string auth_backend_ca_file;  // https backends: a PEM CA to trust besides the system's
  unsigned auth_backend_timeout_ms = 5000;
  std::string token_signing_key_file;    // EC P-256 private key (PEM): sign ES256; empty: HS256 secret
  unsigned token_ttl_s = 3600;           // when the request names no ttl_s
  unsigned token_max_ttl_s = 86400;      // cap on ttl_s
  unsigned login_failure_burst = 5;      // failed logins in a row per name (x4 per client address)
  unsigned login_failure_refill_s = 12;  // then one more per this many seconds (address: a quarter)
  std::string audit_log = "off";         // FILE, "stdout" or "off"
  // Room kinds: the cap of broadcast rooms (meeting rooms: max_room_peers), and
  // `[rooms.NAME]` entries fixing the kind and cap of rooms created by a join.
  size_t max_broadcast_peers = 10000;
  std::vector<NamedRoom> named_rooms;
  // Session resume and graceful drain.
  unsigned resume_window_s = 30;             // a dropped session waits this long to be resumed; 0: off
  size_t resume_buffer_messages = 1000;      // per session: recent frames kept for replay
  size_t resume_buffer_bytes = 1024 * 1024;  // ... and their bytes; parked past either: session ends
  unsigned drain_spread_s = 5;               // SIGTERM: connections are closed spread over this time
  // Cluster mode (empty redis_url: a single node with in-process state).
  std::string redis_url;              // redis://[:password@]host[:port][/db] or unix:///path.sock[?db=N]
  std::string node_id;                // unique per node; default: hostname-pid
  unsigned node_heartbeat_ms = 1000;  // registry heartbeat
  unsigned node_ttl_ms = 3000;        // a node is lost this long after its last heartbeat
};

// Splits "HOST:PORT", "[v6]:PORT" or ":PORT". False when malformed.
bool parse_listen(const std::string& s, std::string& host, uint16_t& port);

// Builds the configuration from argv, SWITCHBOARD_* variables and the TOML file
// named by --config or SWITCHBOARD_CONFIG. Returns nullopt after printing help,
// the version or an error; `exit_code` then says how the process should exit.
std::optional<Config> load_config(int argc, char** argv, int& exit_code);

}  // namespace sb::service
