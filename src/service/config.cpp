#include "service/config.h"

#include <toml++/toml.h>
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

namespace sb::service {

bool parse_listen(const std::string& s, std::string& host, uint16_t& port) {
  std::string h, p;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned long v = std::stoul(p);
  if (v > 65535) return false;
  host = h.empty() ? "0.0.0.0" : h;
  port = static_cast<uint16_t>(v);
  return true;
}

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

bool truthy(const char* v) {
  std::string s(v);
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

// Applies the TOML file. Unknown keys are an error: a typo must not be silently ignored.
void apply_toml(Config& c, const std::string& path) {
  toml::table t = toml::parse_file(path);
  auto str = [&](std::string_view key, std::string& out) {
    if (auto v = t.at_path(key).value<std::string>()) out = *v;
  };
  auto num = [&](std::string_view key, auto& out) {
    if (auto v = t.at_path(key).value<int64_t>()) {
      if (*v < 0) throw std::runtime_error(std::string(key) + " must not be negative");
      out = static_cast<std::remove_reference_t<decltype(out)>>(*v);
    }
  };
  std::string listen;
  str("listen", listen);
  if (!listen.empty() && !parse_listen(listen, c.listen_host, c.listen_port))
    throw std::runtime_error("listen: expected HOST:PORT");
  str("web_root", c.web_root);
  str("log_format", c.log_format);
  str("log_level", c.log_level);
  if (auto v = t["dev"].value<bool>()) c.dev = *v;
  num("threads", c.threads);
  str("jwt.hs256_secret", c.jwt_hs256_secret);
  str("jwt.issuer", c.jwt_issuer);
  str("jwt.audience", c.jwt_audience);
  if (auto* arr = t.at_path("jwt.public_keys").as_array())
    for (auto& e : *arr)
      if (auto s = e.value<std::string>()) c.jwt_public_key_files.push_back(*s);
  num("limits.heartbeat_s", c.heartbeat_s);
  num("limits.hello_timeout_s", c.hello_timeout_s);
  num("limits.max_frame_bytes", c.max_frame_bytes);
  num("limits.max_room_peers", c.max_room_peers);
  num("limits.shutdown_grace_s", c.shutdown_grace_s);
  auto real = [&](std::string_view key, double& out) {
    if (auto v = t.at_path(key).value<double>()) {
      if (*v < 0) throw std::runtime_error(std::string(key) + " must not be negative");
      out = *v;
    }
  };
  real("limits.max_msgs_per_s", c.max_msgs_per_s);
  real("limits.msg_burst", c.msg_burst);
  real("limits.max_bytes_per_s", c.max_bytes_per_s);
  real("limits.bytes_burst", c.bytes_burst);
  num("limits.rate_limit_close_after", c.rate_limit_close_after);
  num("limits.max_rooms_per_conn", c.max_rooms_per_conn);
  num("limits.max_queued_bytes", c.max_queued_bytes);
  num("limits.max_connections", c.max_connections);
  num("limits.max_conns_per_ip", c.max_conns_per_ip);
  real("limits.conn_rate_per_ip", c.conn_rate_per_ip);
  real("limits.conn_burst_per_ip", c.conn_burst_per_ip);
  num("limits.upgrade_timeout_s", c.upgrade_timeout_s);
  auto strings = [&](std::string_view key, std::vector<std::string>& out) {
    if (auto* arr = t.at_path(key).as_array())
      for (auto& e : *arr)
        if (auto s = e.value<std::string>()) out.push_back(*s);
  };
  strings("security.allowed_origins", c.allowed_origins);
  strings("security.trusted_proxies", c.trusted_proxies);
  str("tls.cert_file", c.tls_cert_file);
  str("tls.key_file", c.tls_key_file);
  str("admin.key", c.admin_key);
  strings("webhooks.urls", c.webhook_urls);
  str("webhooks.secret", c.webhook_secret);
  str("webhooks.ca_file", c.webhook_ca_file);
  num("webhooks.queue_size", c.webhook_queue);
  num("webhooks.max_attempts", c.webhook_max_attempts);
  num("webhooks.retry_ms", c.webhook_retry_ms);
  num("webhooks.timeout_ms", c.webhook_timeout_ms);
  str("identity.user_db", c.user_db);
  str("identity.auth_backend_url", c.auth_backend_url);
  str("identity.auth_backend_ca_file", c.auth_backend_ca_file);
  num("identity.auth_backend_timeout_ms", c.auth_backend_timeout_ms);
  str("identity.token_signing_key", c.token_signing_key_file);
  num("identity.token_ttl_s", c.token_ttl_s);
  num("identity.token_max_ttl_s", c.token_max_ttl_s);
  num("identity.login_failure_burst", c.login_failure_burst);
  num("identity.login_failure_refill_s", c.login_failure_refill_s);
  str("audit.log", c.audit_log);

  // ICE servers.
  strings("ice.stun_urls", c.stun_urls);
  str("ice.turn_secret", c.turn_secret);
  num("ice.turn_ttl_s", c.turn_ttl_s);
  if (auto* arr = t.at_path("ice.turn").as_array()) {
    for (auto& e : *arr) {
      const toml::table* tt = e.as_table();
      if (!tt) throw std::runtime_error("ice.turn: expected [[ice.turn]] tables");
      auth::TurnServer ts;
      if (auto* urls = tt->get_as<toml::array>("urls"))
        for (auto& u : *urls)
          if (auto v = u.value<std::string>()) ts.urls.push_back(*v);
      if (auto v = tt->get_as<std::string>("secret")) ts.secret = v->get();
      for (auto& [k, v] : *tt) {
        (void)v;
        if (k.str() != "urls" && k.str() != "secret")
          throw std::runtime_error("ice.turn: unknown key '" + std::string(k.str()) + "'");
      }
      if (ts.urls.empty()) throw std::runtime_error("ice.turn: every TURN server needs urls");
      c.turn_servers.push_back(std::move(ts));
    }
  }

  // OpenID Connect.
  str("oidc.issuer", c.oidc_issuer);
  str("oidc.audience", c.oidc_audience);
  str("oidc.ca_file", c.oidc_ca_file);
  num("oidc.refetch_interval_s", c.oidc_refetch_interval_s);
  if (auto* arr = t.at_path("oidc.grants").as_array()) {
    for (auto& e : *arr) {
      const toml::table* g = e.as_table();
      if (!g) throw std::runtime_error("oidc.grants: expected [[oidc.grants]] tables");
      auth::GrantRule r;
      for (auto& [k, v] : *g) {
        const std::string key(k.str());
        auto flag = [&](std::optional<bool>& out) {
          auto b = v.value<bool>();
          if (!b) throw std::runtime_error("oidc.grants: " + key + " must be true or false");
          out = *b;
        };
        if (key == "claim" || key == "value") {
          auto sv = v.value<std::string>();
          if (!sv || sv->empty())
            throw std::runtime_error("oidc.grants: " + key + " must be a non-empty string");
          (key == "claim" ? r.claim : r.value) = *sv;
        } else if (key == "rooms") {
          const toml::array* rooms = v.as_array();
          if (!rooms) throw std::runtime_error("oidc.grants: rooms must be an array of strings");
          for (auto& room : *rooms) {
            auto rs = room.value<std::string>();
            if (!rs) throw std::runtime_error("oidc.grants: rooms must be an array of strings");
            r.rooms.push_back(*rs);
          }
        } else if (key == "publish") {
          flag(r.publish);
        } else if (key == "subscribe") {
          flag(r.subscribe);
        } else if (key == "data") {
          flag(r.data);
        } else if (key == "admin") {
          flag(r.admin);
        } else {
          throw std::runtime_error("oidc.grants: unknown key '" + key + "'");
        }
      }
      if (r.claim.empty() || r.value.empty())
        throw std::runtime_error("oidc.grants: every rule needs claim and value");
      c.oidc_grants.push_back(std::move(r));
    }
  }

  // Room kinds: [limits] max_broadcast_peers, and [rooms.NAME] kind = "...", max_peers = N.
  num("limits.max_broadcast_peers", c.max_broadcast_peers);
  if (c.max_broadcast_peers == 0) throw std::runtime_error("limits.max_broadcast_peers must be >= 1");
  if (const toml::node* rooms = t.get("rooms")) {
    const toml::table* rt = rooms->as_table();
    if (!rt) throw std::runtime_error("rooms must be a table of [rooms.NAME] tables");
    for (auto& [name, node] : *rt) {
      const std::string key = "rooms." + std::string(name.str());
      const toml::table* e = node.as_table();
      if (!e) throw std::runtime_error(key + " must be a table");
      NamedRoom r;
      r.pattern = std::string(name.str());
      for (auto& [k, v] : *e) {
        if (k.str() == "kind") {
          auto kind = v.value<std::string>();
          if (!kind) throw std::runtime_error(key + ".kind must be a string");
          r.kind = *kind;
        } else if (k.str() == "max_peers") {
          auto n = v.value<int64_t>();
          if (!n || *n < 1) throw std::runtime_error(key + ".max_peers must be an integer >= 1");
          r.max_peers = static_cast<size_t>(*n);
        } else {
          throw std::runtime_error("unknown key '" + key + "." + std::string(k.str()) + "'");
        }
      }
      if (std::string problem = check_named_room(r); !problem.empty()) throw std::runtime_error(problem);
      c.named_rooms.push_back(std::move(r));
    }
  }

  num("resume.window_s", c.resume_window_s);
  num("resume.buffer_messages", c.resume_buffer_messages);
  num("resume.buffer_bytes", c.resume_buffer_bytes);
  num("limits.drain_spread_s", c.drain_spread_s);
  str("cluster.redis_url", c.redis_url);
  str("cluster.node_id", c.node_id);
  num("cluster.heartbeat_ms", c.node_heartbeat_ms);
  num("cluster.node_ttl_ms", c.node_ttl_ms);

  static const std::vector<std::string> known_top = {
      "listen",   "web_root", "log_format", "log_level", "dev",      "threads", "jwt",
      "limits",   "security", "tls",        "admin",     "webhooks", "ice",     "oidc",
      "identity", "audit",    "rooms",      "resume",    "cluster"};

  for (auto& [k, v] : t) {
    (void)v;
    if (std::find(known_top.begin(), known_top.end(), std::string(k.str())) == known_top.end())
      throw std::runtime_error("unknown key '" + std::string(k.str()) + "'");
  }
}

}  // namespace

std::optional<Config> load_config(int argc, char** argv, int& exit_code) {
  Config c;
  CLI::App app{"switchboard — WebRTC signaling server (protocol v1 over WebSocket)", "switchboard"};
  app.set_version_flag("--version", "switchboard " SWITCHBOARD_VERSION);
  app.get_formatter()->column_width(34);
  app.footer(
      "Subcommands:\n"
      "  switchboard admin rooms|peers ROOM|kick ROOM PEER|close ROOM|send ROOM DATA [--to PEER]\n"
      "                    [--server URL] [--key KEY] [--json]\n"
      "                    the admin API from a terminal; see `switchboard admin --help`\n"
      "  switchboard user add|remove|list|passwd|grant --db FILE ...\n"
      "                    the user store of POST /v1/token; see `switchboard user --help`");

  std::string listen, config_file, secret, issuer, audience, web_root, log_format, log_level;
  std::vector<std::string> keys;
  bool dev = false;
  unsigned threads = 0, heartbeat = 0, hello_timeout = 0;
  size_t max_frame = 0, max_room_peers = 0;

  auto* o_listen = app.add_option("--listen", listen,
                                  "Address to listen on, HOST:PORT (default 127.0.0.1:8080; port 0 = any "
                                  "free port) [env SWITCHBOARD_LISTEN]");
  auto* o_config =
      app.add_option("--config", config_file, "TOML configuration file [env SWITCHBOARD_CONFIG]");
  auto* o_secret = app.add_option("--jwt-hs256-secret", secret,
                                  "HS256 secret for verifying tokens [env SWITCHBOARD_JWT_HS256_SECRET]");
  auto* o_keys =
      app.add_option("--jwt-public-key", keys, "PEM public key (RSA: RS256, EC P-256: ES256); repeatable");
  auto* o_issuer =
      app.add_option("--jwt-issuer", issuer, "Required `iss` claim [env SWITCHBOARD_JWT_ISSUER]");
  auto* o_audience =
      app.add_option("--jwt-audience", audience, "Required `aud` claim [env SWITCHBOARD_JWT_AUDIENCE]");
  auto* o_web = app.add_option(
      "--web-root", web_root, "Folder of static files served at / (default: web) [env SWITCHBOARD_WEB_ROOT]");
  auto* o_logf =
      app.add_option("--log-format", log_format, "Log format: text or json [env SWITCHBOARD_LOG_FORMAT]")
          ->check(CLI::IsMember({"text", "json"}));
  auto* o_logl =
      app.add_option("--log-level", log_level, "trace, debug, info, warn, error [env SWITCHBOARD_LOG_LEVEL]")
          ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  auto* o_dev = app.add_flag(
      "--dev", dev, "Development mode: prints a demo token, serves /v1/dev-token [env SWITCHBOARD_DEV]");
  auto* o_threads = app.add_option("--threads", threads, "Event loops (default 0: one per core)");
  auto* o_hb = app.add_option("--heartbeat-s", heartbeat,
                              "Heartbeat period in seconds; silent connections close after 2x (default 20)")
                   ->check(CLI::Range(1u, 3600u));
  auto* o_hello = app.add_option("--hello-timeout-s", hello_timeout,
                                 "Seconds a new connection has to send hello (default 10)")
                      ->check(CLI::Range(1u, 3600u));
  auto* o_frame =
      app.add_option("--max-frame-bytes", max_frame, "Largest accepted frame in bytes (default 65536)")
          ->check(CLI::Range(size_t{256}, size_t{16} << 20));
  auto* o_cap = app.add_option("--max-room-peers", max_room_peers, "Peers per room (default 50)")
                    ->check(CLI::Range(size_t{1}, size_t{1000000}));

  double msgs_per_s = 0, bytes_per_s = 0, conn_rate = 0;
  size_t max_rooms = 0, max_queued = 0, max_conns = 0, max_per_ip = 0;
  unsigned upgrade_timeout = 0;
  std::vector<std::string> origins, proxies;
  std::string tls_cert, tls_key;
  auto* o_mps = app.add_option("--max-msgs-per-s", msgs_per_s,
                               "Frames per second per connection, 0 = unlimited (default 200, burst 1000)")
                    ->check(CLI::NonNegativeNumber)
                    ->group("Limits");
  auto* o_bps = app.add_option("--max-bytes-per-s", bytes_per_s,
                               "Bytes per second per connection, 0 = unlimited (default 1 MiB, burst 4 MiB)")
                    ->check(CLI::NonNegativeNumber)
                    ->group("Limits");
  auto* o_rooms =
      app.add_option("--max-rooms-per-conn", max_rooms, "Rooms one connection may be in (default 16)")
          ->group("Limits");
  auto* o_queued =
      app.add_option("--max-queued-bytes", max_queued,
                     "Outbound bytes waiting for a slow reader before close 1008 (default 4 MiB)")
          ->group("Limits");
  auto* o_maxc =
      app.add_option("--max-connections", max_conns,
                     "Open WebSockets, server-wide; beyond: HTTP 503 (default 100000, 0 = unlimited)")
          ->group("Limits");
  auto* o_perip =
      app.add_option("--max-conns-per-ip", max_per_ip,
                     "Open WebSockets per client address; beyond: HTTP 429 (default 256, 0 = unlimited)")
          ->group("Limits");
  auto* o_crate =
      app.add_option("--conn-rate-per-ip", conn_rate,
                     "New WebSockets per second per client address (default 20, burst 100, 0 = unlimited)")
          ->check(CLI::NonNegativeNumber)
          ->group("Limits");
  auto* o_upg = app.add_option("--upgrade-timeout-s", upgrade_timeout,
                               "Seconds to send a complete HTTP request (default 10)")
                    ->check(CLI::Range(1u, 600u))
                    ->group("Limits");
  auto* o_origin =
      app.add_option("--allowed-origin", origins,
                     "Browser Origin allowed to connect; repeatable (default: any; not checked in dev mode)")
          ->group("Security");
  auto* o_proxy = app.add_option("--trusted-proxy", proxies,
                                 "Address or network whose X-Forwarded-For is believed; repeatable")
                      ->group("Security");
  auto* o_cert =
      app.add_option("--tls-cert", tls_cert,
                     "TLS certificate chain (PEM); with --tls-key serves https/wss; reloaded on SIGHUP")
          ->group("Security");
  auto* o_key = app.add_option("--tls-key", tls_key, "TLS private key (PEM)")->group("Security");

  size_t max_broadcast = 0;
  auto* o_bcast =
      app.add_option("--max-broadcast-peers", max_broadcast,
                     "Peers per broadcast room (default 10000) [env SWITCHBOARD_MAX_BROADCAST_PEERS]")
          ->check(CLI::Range(size_t{1}, size_t{1000000}))
          ->group("Limits");

  std::string admin_key, webhook_secret, webhook_ca;
  std::vector<std::string> webhook_urls;
  unsigned webhook_attempts = 0, webhook_retry_ms = 0;
  auto* o_admin_key =
      app.add_option("--admin-key", admin_key,
                     "API key for the admin API (Authorization: Bearer KEY) [env SWITCHBOARD_ADMIN_KEY]")
          ->group("Operations");
  auto* o_wh_url = app.add_option("--webhook-url", webhook_urls,
                                  "URL to POST room and peer events to (http:// or https://); repeatable")
                       ->group("Operations");
  auto* o_wh_secret =
      app.add_option("--webhook-secret", webhook_secret,
                     "HMAC-SHA256 key for X-Switchboard-Signature [env SWITCHBOARD_WEBHOOK_SECRET]")
          ->group("Operations");
  auto* o_wh_ca =
      app.add_option("--webhook-ca", webhook_ca,
                     "PEM CA certificate to trust for https:// webhook URLs, besides the system's")
          ->group("Operations");
  auto* o_wh_attempts = app.add_option("--webhook-max-attempts", webhook_attempts,
                                       "Attempts per webhook delivery, first included (default 5)")
                            ->check(CLI::Range(1u, 100u))
                            ->group("Operations");
  auto* o_wh_retry = app.add_option("--webhook-retry-ms", webhook_retry_ms,
                                    "First webhook retry delay in ms; doubles per retry (default 500)")
                         ->check(CLI::Range(1u, 600000u))
                         ->group("Operations");

  std::vector<std::string> stun_urls, turn_urls;
  std::string turn_secret;
  unsigned turn_ttl = 0;
  auto* o_stun = app.add_option("--stun-url", stun_urls,
                                "STUN url for clients' ICE servers (no credentials); repeatable")
                     ->group("ICE servers");
  auto* o_turn = app.add_option("--turn-url", turn_urls,
                                "One TURN server: its urls, comma-separated (e.g. turn:h:3478,turns:h:5349); "
                                "repeatable, one flag per server; all use --turn-secret")
                     ->group("ICE servers");
  auto* o_turn_secret =
      app.add_option("--turn-secret", turn_secret,
                     "TURN servers' static-auth-secret for REST credentials [env SWITCHBOARD_TURN_SECRET]")
          ->group("ICE servers");
  auto* o_turn_ttl = app.add_option("--turn-ttl-s", turn_ttl,
                                    "Lifetime of issued TURN credentials in seconds (default 3600)")
                         ->check(CLI::Range(60u, 7u * 24 * 3600))
                         ->group("ICE servers");

  std::string oidc_issuer, oidc_audience, oidc_ca;
  unsigned oidc_refetch = 0;
  auto* o_oidc_iss =
      app.add_option("--oidc-issuer", oidc_issuer,
                     "Accept OpenID Connect tokens of this issuer (JWKS from its discovery document) "
                     "[env SWITCHBOARD_OIDC_ISSUER]")
          ->group("OpenID Connect");
  auto* o_oidc_aud = app.add_option("--oidc-audience", oidc_audience,
                                    "Required `aud` of OpenID tokens [env SWITCHBOARD_OIDC_AUDIENCE]")
                         ->group("OpenID Connect");
  auto* o_oidc_ca = app.add_option("--oidc-ca", oidc_ca,
                                   "PEM CA certificate to trust for an https:// issuer, besides the system's")
                        ->group("OpenID Connect");
  auto* o_oidc_refetch =
      app.add_option("--oidc-refetch-interval-s", oidc_refetch,
                     "At most one JWKS refetch for unknown key ids per this many seconds (default 60)")
          ->check(CLI::Range(0u, 86400u))
          ->group("OpenID Connect");
  std::string user_db, backend_url, backend_ca, signing_key, audit_log;
  unsigned backend_timeout = 0, token_ttl = 0, token_max_ttl = 0, login_burst = 0, login_refill = 0;
  auto* o_user_db =
      app.add_option("--user-db", user_db,
                     "SQLite user store for POST /v1/token (created if absent) [env SWITCHBOARD_USER_DB]")
          ->group("Identity");
  auto* o_backend =
      app.add_option("--auth-backend-url", backend_url,
                     "Instead of --user-db: HTTP(S) URL that checks passwords for POST /v1/token "
                     "[env SWITCHBOARD_AUTH_BACKEND_URL]")
          ->group("Identity");
  auto* o_backend_ca =
      app.add_option("--auth-backend-ca", backend_ca,
                     "PEM CA certificate to trust for an https:// auth backend, besides the system's")
          ->group("Identity");
  auto* o_backend_timeout = app.add_option("--auth-backend-timeout-ms", backend_timeout,
                                           "Auth backend call timeout in ms (default 5000)")
                                ->check(CLI::Range(100u, 60000u))
                                ->group("Identity");
  auto* o_signing_key =
      app.add_option("--token-signing-key", signing_key,
                     "EC P-256 private key (PEM): issue ES256 tokens (default: HS256 with the secret) "
                     "[env SWITCHBOARD_TOKEN_SIGNING_KEY]")
          ->group("Identity");
  auto* o_token_ttl =
      app.add_option("--token-ttl-s", token_ttl, "Lifetime of issued tokens without ttl_s (default 3600)")
          ->check(CLI::Range(1u, 31u * 86400u))
          ->group("Identity");
  auto* o_token_max_ttl =
      app.add_option("--token-max-ttl-s", token_max_ttl, "Largest ttl_s a login may ask for (default 86400)")
          ->check(CLI::Range(1u, 31u * 86400u))
          ->group("Identity");
  auto* o_login_burst =
      app.add_option("--login-failure-burst", login_burst,
                     "Failed logins in a row per name before 429 (default 5; per address x4)")
          ->check(CLI::Range(1u, 10000u))
          ->group("Identity");
  auto* o_login_refill =
      app.add_option("--login-failure-refill-s", login_refill,
                     "Then one more attempt per this many seconds (default 12; per address a quarter)")
          ->check(CLI::Range(1u, 86400u))
          ->group("Identity");
  auto* o_audit = app.add_option("--audit-log", audit_log,
                                 "Audit log of logins, token rejections, join denials, admin actions: FILE, "
                                 "stdout or off (default off) [env SWITCHBOARD_AUDIT_LOG]")
                      ->group("Identity");
  // Cluster mode.
  std::string redis_url, node_id;
  unsigned node_heartbeat = 0, node_ttl = 0;
  auto* o_redis = app.add_option("--redis", redis_url,
                                 "Cluster mode: share rooms with other nodes through this Redis, "
                                 "redis://[:password@]host[:port][/db] or unix:///path.sock "
                                 "[env SWITCHBOARD_REDIS_URL]")
                      ->group("Cluster");
  auto* o_node_id = app.add_option("--node-id", node_id,
                                   "This node's name in the cluster, unique (default hostname-pid) "
                                   "[env SWITCHBOARD_NODE_ID]")
                        ->group("Cluster");
  auto* o_node_hb =
      app.add_option("--node-heartbeat-ms", node_heartbeat,
                     "Cluster heartbeat interval (default 1000) [env SWITCHBOARD_NODE_HEARTBEAT_MS]")
          ->check(CLI::Range(50u, 60000u))
          ->group("Cluster");
  auto* o_node_ttl = app.add_option("--node-ttl-ms", node_ttl,
                                    "A node without heartbeat for this long is lost (default 3000) "
                                    "[env SWITCHBOARD_NODE_TTL_MS]")
                         ->check(CLI::Range(100u, 600000u))
                         ->group("Cluster");
  // Session resume and graceful drain.
  unsigned resume_window = 0, drain_spread = 0;
  size_t resume_messages = 0, resume_bytes = 0;
  auto* o_rs_window = app.add_option("--resume-window-s", resume_window,
                                     "Seconds a dropped session can be resumed, 0 = off (default 30) "
                                     "[env SWITCHBOARD_RESUME_WINDOW_S]")
                          ->check(CLI::Range(0u, 3600u))
                          ->group("Resume");
  auto* o_rs_msgs = app.add_option("--resume-buffer-messages", resume_messages,
                                   "Frames kept per session for replay (default 1000) "
                                   "[env SWITCHBOARD_RESUME_BUFFER_MESSAGES]")
                        ->check(CLI::Range(size_t{1}, size_t{1000000}))
                        ->group("Resume");
  auto* o_rs_bytes = app.add_option("--resume-buffer-bytes", resume_bytes,
                                    "Bytes kept per session for replay (default 1 MiB) "
                                    "[env SWITCHBOARD_RESUME_BUFFER_BYTES]")
                         ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
                         ->group("Resume");
  auto* o_drain = app.add_option("--drain-spread-s", drain_spread,
                                 "SIGTERM: close connections spread over this many seconds, 0 = at once "
                                 "(default 5) [env SWITCHBOARD_DRAIN_SPREAD_S]")
                      ->check(CLI::Range(0u, 3600u))
                      ->group("Resume");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  }

  // 1. file
  if (o_config->count())
    c.config_file = config_file;
  else if (const char* v = env("SWITCHBOARD_CONFIG"))
    c.config_file = v;
  if (!c.config_file.empty()) {
    try {
      apply_toml(c, c.config_file);
    } catch (const std::exception& e) {
      std::cerr << "switchboard: " << c.config_file << ": " << e.what() << "\n";
      exit_code = 2;
      return std::nullopt;
    }
  }
  // 2. environment
  if (const char* v = env("SWITCHBOARD_LISTEN")) listen = o_listen->count() ? listen : v;
  if (const char* v = env("SWITCHBOARD_JWT_HS256_SECRET")) c.jwt_hs256_secret = v;
  if (const char* v = env("SWITCHBOARD_JWT_ISSUER")) c.jwt_issuer = v;
  if (const char* v = env("SWITCHBOARD_JWT_AUDIENCE")) c.jwt_audience = v;
  if (const char* v = env("SWITCHBOARD_WEB_ROOT")) c.web_root = v;
  if (const char* v = env("SWITCHBOARD_LOG_FORMAT")) c.log_format = v;
  if (const char* v = env("SWITCHBOARD_LOG_LEVEL")) c.log_level = v;
  if (const char* v = env("SWITCHBOARD_DEV")) c.dev = truthy(v);
  if (const char* v = env("SWITCHBOARD_ADMIN_KEY")) c.admin_key = v;
  if (const char* v = env("SWITCHBOARD_WEBHOOK_SECRET")) c.webhook_secret = v;
  if (const char* v = env("SWITCHBOARD_TURN_SECRET")) c.turn_secret = v;
  if (const char* v = env("SWITCHBOARD_REDIS_URL")) c.redis_url = v;
  if (const char* v = env("SWITCHBOARD_NODE_ID")) c.node_id = v;
  if (const char* v = env("SWITCHBOARD_OIDC_ISSUER")) c.oidc_issuer = v;
  if (const char* v = env("SWITCHBOARD_OIDC_AUDIENCE")) c.oidc_audience = v;
  if (const char* v = env("SWITCHBOARD_USER_DB")) c.user_db = v;
  if (const char* v = env("SWITCHBOARD_AUTH_BACKEND_URL")) c.auth_backend_url = v;
  if (const char* v = env("SWITCHBOARD_TOKEN_SIGNING_KEY")) c.token_signing_key_file = v;
  if (const char* v = env("SWITCHBOARD_AUDIT_LOG")) c.audit_log = v;
  if (const char* v = env("SWITCHBOARD_MAX_BROADCAST_PEERS")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 1000000) {
      std::cerr << "switchboard: SWITCHBOARD_MAX_BROADCAST_PEERS: expected 1-1000000, got '" << v << "'\n";
      exit_code = 2;
      return std::nullopt;
    }
    c.max_broadcast_peers = static_cast<size_t>(n);
  }
  {  // session resume and drain
    auto env_num = [&](const char* name, auto& out) {
      const char* v = env(name);
      if (!v) return true;
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v, &end, 10);
      if (*end || *v == '-') {
        std::cerr << "switchboard: " << name << ": expected a non-negative integer, got '" << v << "'\n";
        return false;
      }
      out = static_cast<std::remove_reference_t<decltype(out)>>(n);
      return true;
    };
    if (!env_num("SWITCHBOARD_RESUME_WINDOW_S", c.resume_window_s) ||
        !env_num("SWITCHBOARD_RESUME_BUFFER_MESSAGES", c.resume_buffer_messages) ||
        !env_num("SWITCHBOARD_RESUME_BUFFER_BYTES", c.resume_buffer_bytes) ||
        !env_num("SWITCHBOARD_DRAIN_SPREAD_S", c.drain_spread_s) ||
        !env_num("SWITCHBOARD_NODE_HEARTBEAT_MS", c.node_heartbeat_ms) ||
        !env_num("SWITCHBOARD_NODE_TTL_MS", c.node_ttl_ms)) {
      exit_code = 2;
      return std::nullopt;
    }
  }
  // 3. flags
  if (!listen.empty() && !parse_listen(listen, c.listen_host, c.listen_port)) {
    std::cerr << "switchboard: --listen: expected HOST:PORT, got '" << listen << "'\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (o_secret->count()) c.jwt_hs256_secret = secret;
  if (o_keys->count()) c.jwt_public_key_files = keys;
  if (o_issuer->count()) c.jwt_issuer = issuer;
  if (o_audience->count()) c.jwt_audience = audience;
  if (o_web->count()) c.web_root = web_root;
  if (o_logf->count()) c.log_format = log_format;
  if (o_logl->count()) c.log_level = log_level;
  if (o_dev->count()) c.dev = dev;
  if (o_threads->count()) c.threads = threads;
  if (o_hb->count()) c.heartbeat_s = heartbeat;
  if (o_hello->count()) c.hello_timeout_s = hello_timeout;
  if (o_frame->count()) c.max_frame_bytes = max_frame;
  if (o_cap->count()) c.max_room_peers = max_room_peers;
  if (o_mps->count()) c.max_msgs_per_s = msgs_per_s;
  if (o_bps->count()) c.max_bytes_per_s = bytes_per_s;
  if (o_rooms->count()) c.max_rooms_per_conn = max_rooms;
  if (o_queued->count()) c.max_queued_bytes = max_queued;
  if (o_maxc->count()) c.max_connections = max_conns;
  if (o_perip->count()) c.max_conns_per_ip = max_per_ip;
  if (o_crate->count()) c.conn_rate_per_ip = conn_rate;
  if (o_upg->count()) c.upgrade_timeout_s = upgrade_timeout;
  if (o_origin->count()) c.allowed_origins = origins;
  if (o_proxy->count()) c.trusted_proxies = proxies;
  if (o_cert->count()) c.tls_cert_file = tls_cert;
  if (o_key->count()) c.tls_key_file = tls_key;
  if (o_admin_key->count()) c.admin_key = admin_key;
  if (o_wh_url->count()) c.webhook_urls = webhook_urls;
  if (o_wh_secret->count()) c.webhook_secret = webhook_secret;
  if (o_wh_ca->count()) c.webhook_ca_file = webhook_ca;
  if (o_wh_attempts->count()) c.webhook_max_attempts = webhook_attempts;
  if (o_wh_retry->count()) c.webhook_retry_ms = webhook_retry_ms;
  if (o_oidc_iss->count()) c.oidc_issuer = oidc_issuer;
  if (o_oidc_aud->count()) c.oidc_audience = oidc_audience;
  if (o_oidc_ca->count()) c.oidc_ca_file = oidc_ca;
  if (o_oidc_refetch->count()) c.oidc_refetch_interval_s = oidc_refetch;
  if (o_stun->count()) c.stun_urls = stun_urls;
  if (o_turn_secret->count()) c.turn_secret = turn_secret;
  if (o_turn_ttl->count()) c.turn_ttl_s = turn_ttl;
  if (o_turn->count()) {
    c.turn_servers.clear();
    for (const std::string& flag : turn_urls) {
      auth::TurnServer ts;
      size_t start = 0;
      while (start <= flag.size()) {
        size_t comma = flag.find(',', start);
        if (comma == std::string::npos) comma = flag.size();
        if (comma > start) ts.urls.push_back(flag.substr(start, comma - start));
        start = comma + 1;
      }
      if (ts.urls.empty()) {
        std::cerr << "switchboard: --turn-url: no url in '" << flag << "'\n";
        exit_code = 2;
        return std::nullopt;
      }
      c.turn_servers.push_back(std::move(ts));
    }
  }
  for (auth::TurnServer& ts : c.turn_servers) {
    if (ts.secret.empty()) ts.secret = c.turn_secret;
    if (ts.secret.empty()) {
      std::cerr << "switchboard: TURN server " << ts.urls.front()
                << " has no secret: set --turn-secret (or secret in its [[ice.turn]] table)\n";
      exit_code = 2;
      return std::nullopt;
    }
  }
  if (c.turn_ttl_s < 60) {
    std::cerr << "switchboard: ice.turn_ttl_s must be at least 60\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (o_user_db->count()) c.user_db = user_db;
  if (o_backend->count()) c.auth_backend_url = backend_url;
  if (o_backend_ca->count()) c.auth_backend_ca_file = backend_ca;
  if (o_backend_timeout->count()) c.auth_backend_timeout_ms = backend_timeout;
  if (o_signing_key->count()) c.token_signing_key_file = signing_key;
  if (o_token_ttl->count()) c.token_ttl_s = token_ttl;
  if (o_token_max_ttl->count()) c.token_max_ttl_s = token_max_ttl;
  if (o_login_burst->count()) c.login_failure_burst = login_burst;
  if (o_login_refill->count()) c.login_failure_refill_s = login_refill;
  if (o_audit->count()) c.audit_log = audit_log;
  if (!c.user_db.empty() && !c.auth_backend_url.empty()) {
    std::cerr << "switchboard: --user-db and --auth-backend-url exclude each other\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (c.audit_log.empty()) c.audit_log = "off";
  if (o_bcast->count()) c.max_broadcast_peers = max_broadcast;
  if (o_rs_window->count()) c.resume_window_s = resume_window;
  if (o_rs_msgs->count()) c.resume_buffer_messages = resume_messages;
  if (o_rs_bytes->count()) c.resume_buffer_bytes = resume_bytes;
  if (o_drain->count()) c.drain_spread_s = drain_spread;
  if (o_redis->count()) c.redis_url = redis_url;
  if (o_node_id->count()) c.node_id = node_id;
  if (o_node_hb->count()) c.node_heartbeat_ms = node_heartbeat;
  if (o_node_ttl->count()) c.node_ttl_ms = node_ttl;
  // Pasted into Redis keys, channels, member JSON and connection names unescaped.
  if (!c.node_id.empty() &&
      (c.node_id.size() > 64 ||
       c.node_id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789._-") != std::string::npos)) {
    std::cerr << "switchboard: --node-id must be 1-64 characters of [A-Za-z0-9._-]\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (c.node_ttl_ms <= c.node_heartbeat_ms) {
    std::cerr << "switchboard: --node-ttl-ms must be greater than --node-heartbeat-ms\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!c.webhook_urls.empty() && c.webhook_secret.empty()) {
    std::cerr << "switchboard: --webhook-url needs --webhook-secret (receivers must be able to check the "
                 "signature)\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    std::cerr << "switchboard: --tls-cert and --tls-key go together\n";
    exit_code = 2;
    return std::nullopt;
  }

  if (c.log_format != "text" && c.log_format != "json") {
    std::cerr << "switchboard: log format must be text or json\n";
    exit_code = 2;
    return std::nullopt;
  }
  exit_code = 0;
  return c;
}

}  // namespace sb::service
