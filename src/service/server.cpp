#include "service/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "auth/jwt_verifier.h"
#include "auth/token_signer.h"
#include "core/json_text.h"
#include "core/random.h"
#include "service/admin_api.h"
#include "service/admin_auth.h"
#include "service/admission.h"
#include "service/audit_log.h"
#include "service/client_address.h"
#include "service/cluster_room_admin.h"
#include "service/http_session.h"
#include "service/hub.h"
#include "service/ice_api.h"
#include "service/metrics.h"
#include "service/oidc_keys.h"
#include "service/shard.h"
#include "service/tls.h"
#include "service/token_endpoint.h"
#include "service/webhooks.h"
#include "service/ws_session.h"

namespace sb::service {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Server::Impl {
  Config cfg;
  std::vector<std::unique_ptr<Shard>> shards;
  std::unique_ptr<routing::LocalBus> bus;
  std::unique_ptr<auth::JwtVerifier> verifier;
  std::unique_ptr<auth::OidcVerifier> oidc;  // null without --oidc-issuer
  std::unique_ptr<OidcKeys> oidc_keys;       // its JWKS fetcher; stopped before the shards go
  std::unique_ptr<AuditLog> audit;           // null with --audit-log off
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Webhooks> webhooks;  // null without --webhook-url; destroyed before metrics
  std::unique_ptr<Hub> hub;
  std::unique_ptr<routing::Cluster> cluster;  // null without --redis; stopped after the shards' threads end
  std::unique_ptr<AdminAuth> admin_auth;
  std::unique_ptr<ClusterRoomAdmin> cluster_rooms;  // cluster mode: the admin API's rooms
  std::unique_ptr<AdminApi> admin_api;
  std::unique_ptr<asio::thread_pool> admin_pool;  // cluster mode: serves the admin API
  std::unique_ptr<Admission> admission;
  std::unique_ptr<TrustedProxies> trusted_proxies;
  // POST /v1/token (null unless --user-db or --auth-backend-url). Its workers
  // answer by posting to the shards, so it is stopped before they go.
  std::unique_ptr<TokenEndpoint> tokens;
  // Current TLS context (null: plain HTTP). Replaced on SIGHUP; read by the
  // accept handler on shard 0, the only thread that touches it.
  std::shared_ptr<boost::asio::ssl::context> tls;
  HttpContext http;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::steady_timer> grace;
  std::unique_ptr<asio::steady_timer> drain_end;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  uint32_t next_shard = 0;
  std::atomic<bool> shutting_down{false};   // written on shard 0, read by /readyz on any shard
  std::atomic<uint32_t> drained_shards{0};  // shards left without connections during a drain
  std::atomic<uint32_t> emptied_shards{0};  // shards left without connections while stopping
  std::thread stopper;                      // stops the cluster, then the loops (see shard_emptied)

  explicit Impl(Config c) : cfg(std::move(c)) {}
  // The shards go first, while everything their sessions point to (admission,
  // hub, metrics, config) still exists: a session that was still waiting on an
  // operation when its loop stopped is only destroyed with its io_context.
  // What lives on shard 0's io_context goes before that io_context.
  ~Impl() {
    if (admin_pool) {  // a request under way waits for the cluster (bounded); queued ones are dropped
      admin_pool->stop();
      admin_pool->join();
    }
    cluster.reset();                   // its thread posts to the shards: gone before they are
    if (oidc_keys) oidc_keys->stop();  // no key-fetch callback may reach a session from now on
    tokens.reset();
    grace.reset();
    drain_end.reset();
    signals.reset();
    acceptor.reset();
    guards.clear();
    shards.clear();
  }

  bool setup();
  void accept();
  void start_sweep(Shard& s);
  void start_lag_probe(Shard& s);
  // `drain` (SIGTERM): each connection gets going-away {draining, reconnect:
  // true} and is closed at its own moment within drain_spread_s; then the
  // rest stops as for SIGINT (going-away {shutdown}, close 1001, grace period).
  void begin_shutdown(bool drain);
  void stop_all(bool drained);
  // On shard `s` while draining: once it has no connection left, counts it;
  // when every shard is empty the drain ends early.
  void check_drained(Shard& s);
  // Stopping: shard `s` has no connection left. Once every shard is empty the
  // loops stop; in cluster mode the cluster stops first, while the loops still
  // run, so that what it received for parked sessions is stamped and answered.
  void shard_emptied(Shard& s);
  void stop_loops();
  void wait_signals();
  void reload_tls();
};

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A token for `user` (a fresh guest id when empty), all rooms, 24 hours.
std::string mint_dev_token(const Config& cfg, const std::string& user, const std::string& name,
                           std::string* user_out, int64_t* exp_out) {
  auth::TokenSpec spec;
  spec.user = UserId(user.empty() ? "guest-" + random_hex(4) : user);
  spec.name = name;
  spec.grants.rooms = {"*"};
  spec.issued_at = static_cast<int64_t>(std::time(nullptr));
  spec.expires_at = spec.issued_at + 24 * 3600;
  spec.issuer = cfg.jwt_issuer;
  spec.audience = cfg.jwt_audience;
  if (user_out) *user_out = spec.user.str();
  if (exp_out) *exp_out = spec.expires_at;
  return auth::sign_hs256(cfg.jwt_hs256_secret, spec);
}

}  // namespace

bool Server::Impl::setup() {
  if (cfg.dev && cfg.jwt_hs256_secret.empty() && cfg.jwt_public_key_files.empty()) {
    cfg.jwt_hs256_secret = random_hex(32);
    spdlog::warn("dev mode: generated a random HS256 secret for this run");
  }
  auth::VerifierConfig vc;
  vc.hs256_secret = cfg.jwt_hs256_secret;
  vc.issuer = cfg.jwt_issuer;
  vc.audience = cfg.jwt_audience;
  std::optional<auth::TokenSigner> signer;
  try {
    for (const auto& f : cfg.jwt_public_key_files) vc.public_key_pems.push_back(read_file(f));
    if (!cfg.token_signing_key_file.empty()) {
      // ES256: the server must accept what it issues, so its public key joins the verifier's keys.
      signer = auth::TokenSigner::es256(read_file(cfg.token_signing_key_file));
      vc.public_key_pems.push_back(signer->public_key_pem());
    }
    verifier = std::make_unique<auth::JwtVerifier>(vc);
  } catch (const std::exception& e) {
    spdlog::error("JWT keys: {}", e.what());
    return false;
  }
  if (!cfg.oidc_issuer.empty()) {
    auth::OidcConfig oc;
    oc.issuer = cfg.oidc_issuer;
    oc.audience = cfg.oidc_audience;
    oc.grants = cfg.oidc_grants;
    oidc = std::make_unique<auth::OidcVerifier>(std::move(oc));
    OidcKeysConfig kc;
    kc.issuer = cfg.oidc_issuer;
    kc.ca_file = cfg.oidc_ca_file;
    kc.refetch_interval_s = cfg.oidc_refetch_interval_s;
    try {
      oidc_keys = std::make_unique<OidcKeys>(std::move(kc), *oidc);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return false;
    }
    spdlog::info("oidc: accepting tokens of {} (audience {}, {} grant rule{})", cfg.oidc_issuer,
                 cfg.oidc_audience.empty() ? "not checked" : cfg.oidc_audience, cfg.oidc_grants.size(),
                 cfg.oidc_grants.size() == 1 ? "" : "s");
  }
  if (!verifier->has_keys() && !oidc) {
    spdlog::error("no JWT key configured: use --jwt-hs256-secret, --jwt-public-key, --oidc-issuer or --dev");
    return false;
  }

  unsigned n = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  n = std::min(n, 64u);
  for (uint32_t i = 0; i < n; ++i) {
    shards.push_back(std::make_unique<Shard>(i));
    shards.back()->on_empty = [this, s = shards.back().get()] { shard_emptied(*s); };
  }
  std::vector<routing::LocalBus::Shard> bs;
  for (auto& s : shards) bs.push_back({&s->ioc, &s->table});
  bus = std::make_unique<routing::LocalBus>(std::move(bs));
  metrics = std::make_unique<Metrics>(n);
  bus->set_observer(metrics.get());

  HubConfig hc;
  hc.heartbeat_s = cfg.heartbeat_s;
  hc.max_room_peers = cfg.max_room_peers;
  hc.max_rooms_per_conn = cfg.max_rooms_per_conn;
  hc.ice.stun_urls = cfg.stun_urls;
  hc.ice.turn = cfg.turn_servers;
  hc.ice.turn_ttl_s = cfg.turn_ttl_s;
  hc.max_broadcast_peers = cfg.max_broadcast_peers;
  hc.named_rooms = cfg.named_rooms;
  hc.resume_window_s = cfg.resume_window_s;
  hc.resume_buffer_messages = cfg.resume_buffer_messages;
  hc.resume_buffer_bytes = cfg.resume_buffer_bytes;
  try {
    trusted_proxies = std::make_unique<TrustedProxies>(cfg.trusted_proxies);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return false;
  }
  admission = std::make_unique<Admission>(AdmissionLimits{cfg.max_connections, cfg.max_conns_per_ip,
                                                          cfg.conn_rate_per_ip, cfg.conn_burst_per_ip});
  if (!cfg.webhook_urls.empty()) {
    WebhookConfig wc;
    wc.urls = cfg.webhook_urls;
    wc.secret = cfg.webhook_secret;
    wc.ca_file = cfg.webhook_ca_file;
    wc.queue = cfg.webhook_queue;
    wc.max_attempts = cfg.webhook_max_attempts;
    wc.retry_ms = cfg.webhook_retry_ms;
    wc.timeout_ms = cfg.webhook_timeout_ms;
    try {
      webhooks = std::make_unique<Webhooks>(std::move(wc), metrics->webhooks());
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return false;
    }
    spdlog::info("webhooks: {} URL{}", cfg.webhook_urls.size(), cfg.webhook_urls.size() == 1 ? "" : "s");
  }
  if (cfg.audit_log != "off") {
    try {
      audit = std::make_unique<AuditLog>(cfg.audit_log);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return false;
    }
    spdlog::info("audit log: {}", cfg.audit_log);
  }
  if (!cfg.user_db.empty() || !cfg.auth_backend_url.empty()) {
    TokenEndpointConfig tc;
    tc.policy.issuer = cfg.jwt_issuer;
    tc.policy.audience = cfg.jwt_audience;
    tc.policy.default_ttl_s = std::min(cfg.token_ttl_s, cfg.token_max_ttl_s);
    tc.policy.max_ttl_s = cfg.token_max_ttl_s;
    tc.throttle.user_burst = cfg.login_failure_burst;
    tc.throttle.user_per_s = 1.0 / cfg.login_failure_refill_s;
    tc.throttle.ip_burst = 4.0 * cfg.login_failure_burst;
    tc.throttle.ip_per_s = 4.0 / cfg.login_failure_refill_s;
    tc.user_db = cfg.user_db;
    tc.backend_url = cfg.auth_backend_url;
    tc.backend_ca_file = cfg.auth_backend_ca_file;
    tc.backend_timeout_ms = cfg.auth_backend_timeout_ms;
    try {
      if (!signer) {
        if (cfg.jwt_hs256_secret.empty())
          throw std::invalid_argument("the token service needs --token-signing-key or --jwt-hs256-secret");
        signer = auth::TokenSigner::hs256(cfg.jwt_hs256_secret);
      }
      const char* alg = signer->alg();
      tokens = std::make_unique<TokenEndpoint>(std::move(tc), std::move(*signer), audit.get());
      spdlog::info(
          "token service: POST /v1/token, {} tokens, {}", alg,
          cfg.user_db.empty() ? "auth backend " + cfg.auth_backend_url : "user store " + cfg.user_db);
    } catch (const std::exception& e) {
      spdlog::error("token service: {}", e.what());
      return false;
    }
    http.token = [this](const Request& req, const std::string& ip, HttpContext::Done done) {
      tokens->handle(req, ip, std::move(done));
    };
  }
  hub = std::make_unique<Hub>(hc, *verifier, *bus, *metrics, webhooks.get());
  if (oidc) hub->set_oidc(oidc.get(), oidc_keys.get());
  if (!cfg.redis_url.empty()) {
    routing::ClusterOptions co;
    std::string err;
    if (!routing::parse_redis_url(cfg.redis_url, co.redis, err)) {
      spdlog::error("--redis: {}", err);
      return false;
    }
    co.node_id = cfg.node_id;
    if (co.node_id.empty()) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      co.node_id = std::string(host) + "-" + std::to_string(::getpid());
    }
    co.registry.heartbeat = std::chrono::milliseconds(cfg.node_heartbeat_ms);
    co.registry.ttl = std::chrono::milliseconds(cfg.node_ttl_ms);
    co.lost_grace = std::chrono::seconds(cfg.resume_window_s);
    // Resume on any node: every stamped frame is stored, up to the replay buffer's message limit.
    co.log_messages = cfg.resume_window_s > 0 ? cfg.resume_buffer_messages : 0;
    co.inbox_bytes = cfg.resume_buffer_bytes;
    routing::set_node_tag(static_cast<uint32_t>(std::stoul(random_hex(2), nullptr, 16)));
    cluster = std::make_unique<routing::Cluster>(std::move(co), *bus);
    bus->set_remote(cluster.get());
    hub->set_cluster(cluster.get());
  }
  hub->set_audit(audit.get());
  // In cluster mode the gauges count the whole cluster (every node says the same).
  metrics->rooms = [this] { return cluster ? cluster->room_count() : hub->room_count(); };
  metrics->peers = [this] { return cluster ? cluster->peer_count() : hub->peer_count(); };
  if (cluster)
    metrics->cluster = [this] {
      return Metrics::ClusterFigures{static_cast<double>(cluster->redis_rtt_us()) / 1e6,
                                     cluster->node_count(), cluster->redis_commands()};
    };
  metrics->ready = [this] { return !shutting_down.load() && (!cluster || cluster->ready()); };
  admin_auth = std::make_unique<AdminAuth>(cfg.admin_key, verifier.get());
  if (oidc)
    admin_auth->set_token_check(
        [this](std::string_view token, int64_t now) { return hub->verify_token(token, now); });
  if (cluster) {
    cluster_rooms = std::make_unique<ClusterRoomAdmin>(
        *cluster, rtc::RoomLimits{cfg.max_room_peers, cfg.max_broadcast_peers}, webhooks.get());
    admin_api = std::make_unique<AdminApi>(*cluster_rooms, *admin_auth);
    // It waits for Redis: served by a thread of its own, one request at a time, never on a loop.
    admin_pool = std::make_unique<asio::thread_pool>(1);
    http.admin_async = [this](const Request& req, const std::string& ip, HttpContext::Done done) {
      asio::post(*admin_pool, [this, req, ip, done = std::move(done)] { done(admin_api->handle(req, ip)); });
    };
  } else {
    admin_api = std::make_unique<AdminApi>(*hub, *admin_auth);
  }
  admin_api->set_audit(audit.get());
  http.metrics = [this] { return metrics->render(); };
  http.admin = [this](const Request& req, std::string_view remote) { return admin_api->handle(req, remote); };
  http.ice_servers = [this, ice = hc.ice](const Request& req) {
    return ice_servers_response(
        req, ice, [this](std::string_view token, int64_t now) { return hub->verify_token(token, now); },
        static_cast<int64_t>(std::time(nullptr)));
  };
  if (!cfg.turn_servers.empty() || !cfg.stun_urls.empty())
    spdlog::info("ICE servers: {} STUN url{}, {} TURN server{} (credentials for {} s)", cfg.stun_urls.size(),
                 cfg.stun_urls.size() == 1 ? "" : "s", cfg.turn_servers.size(),
                 cfg.turn_servers.size() == 1 ? "" : "s", cfg.turn_ttl_s);

  std::error_code fec;
  auto root = std::filesystem::weakly_canonical(cfg.web_root, fec);
  if (!fec && std::filesystem::is_directory(root, fec)) {
    http.web_root = root.string();
  } else {
    spdlog::warn("web root '{}' is not a folder; static files disabled", cfg.web_root);
  }
  http.dev = cfg.dev && !cfg.jwt_hs256_secret.empty();
  if (http.dev) {
    http.dev_token = [this](const std::string& name) {
      std::string user;
      int64_t exp = 0;
      std::string token = mint_dev_token(cfg, {}, name, &user, &exp);
      std::string body = "{\"token\":";
      json_append_string(body, token);
      body += ",\"user\":";
      json_append_string(body, user);
      body += ",\"expires_at\":";
      json_append_uint(body, static_cast<uint64_t>(exp));
      body += "}";
      return body;
    };
  }
  http.ready = [this] { return !shutting_down.load() && (!cluster || cluster->ready()); };
  for (auto& s : shards) {
    s->metrics = &metrics->shard(s->index);
    s->cfg = &cfg;
    s->hub = hub.get();
    s->http = &http;
    s->admission = admission.get();
    s->trusted_proxies = trusted_proxies.get();
  }

  if (!cfg.tls_cert_file.empty()) {
    try {
      tls = make_tls_context(cfg.tls_cert_file, cfg.tls_key_file);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return false;
    }
  }

  // Listener on shard 0; accepted sockets are handed to shards round robin.
  auto& ioc0 = shards[0]->ioc;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(cfg.listen_host, ec);
  if (ec) {
    spdlog::error("--listen: '{}' is not an IP address", cfg.listen_host);
    return false;
  }
  tcp::endpoint ep(addr, cfg.listen_port);
  acceptor = std::make_unique<tcp::acceptor>(ioc0);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("cannot listen on {}:{}: {}", cfg.listen_host, cfg.listen_port, ec.message());
    return false;
  }
  auto bound = acceptor->local_endpoint();
  const std::string host =
      bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  spdlog::info("listening on {}://{}:{} ({} event loop{})", tls ? "https" : "http", host, bound.port(), n,
               n == 1 ? "" : "s");
  if (http.dev) {
    std::string token = mint_dev_token(cfg, "demo", "Demo", nullptr, nullptr);
    std::cout << "\nSwitchboard is running in dev mode.\n"
              << "  demo app:  " << (tls ? "https" : "http") << "://"
              << (host == "0.0.0.0" ? std::string("localhost") : host) << ":" << bound.port() << "/\n"
              << "  WebSocket: " << (tls ? "wss" : "ws") << "://" << host << ":" << bound.port() << "/ws\n"
              << "dev token: " << token << "\n\n"
              << std::flush;
  }

  signals = std::make_unique<asio::signal_set>(ioc0, SIGINT, SIGTERM, SIGHUP);
  wait_signals();
  return true;
}

// SIGINT/SIGTERM: shut down. SIGHUP: reload the TLS certificate and key.
void Server::Impl::wait_signals() {
  signals->async_wait([this](const boost::system::error_code& e, int sig) {
    if (e) return;
    if (sig == SIGHUP) {
      reload_tls();
      return wait_signals();
    }
    spdlog::info("signal {}: shutting down{}", sig,
                 sig == SIGTERM && cfg.drain_spread_s ? " (draining)" : "");
    begin_shutdown(sig == SIGTERM);
  });
}

// New connections get the new context; open ones keep the one they started
// with (each session holds its context), so nothing is dropped. A bad new
// certificate or key is logged and the old context stays in use.
void Server::Impl::reload_tls() {
  if (!tls) {
    spdlog::info("SIGHUP: TLS not configured, nothing to reload");
    return;
  }
  try {
    tls = make_tls_context(cfg.tls_cert_file, cfg.tls_key_file);
    spdlog::info("TLS certificate reloaded from {}", cfg.tls_cert_file);
  } catch (const std::exception& ex) {
    spdlog::error("TLS reload failed, keeping the previous certificate: {}", ex.what());
  }
}

void Server::Impl::accept() {
  Shard& target = *shards[next_shard];
  next_shard = (next_shard + 1) % shards.size();
  acceptor->async_accept(target.ioc, [this, &target](boost::system::error_code ec, Socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      spdlog::warn("accept: {}", ec.message());
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      if (tls) {
        asio::post(target.ioc, [&target, sock = std::move(socket), ctx = tls]() mutable {
          std::make_shared<TlsHttpSession>(target, std::move(sock), std::move(ctx))->run();
        });
      } else {
        asio::post(target.ioc, [&target, sock = std::move(socket)]() mutable {
          std::make_shared<PlainHttpSession>(target, std::move(sock))->run();
        });
      }
    }
    accept();
  });
}

// Every second, each session checks its own deadlines. One timer per shard
// instead of one per connection keeps an idle connection's footprint small.
void Server::Impl::start_sweep(Shard& s) {
  s.sweep.expires_after(std::chrono::seconds(1));
  s.sweep.async_wait([this, &s](const boost::system::error_code& ec) {
    if (ec || s.stopping) return;
    const auto now = WsSession::Clock::now();
    std::vector<std::shared_ptr<WsSession>> live;
    live.reserve(s.sessions.size());
    for (WsSession* w : s.sessions) live.push_back(w->shared_from_this());
    for (auto& w : live) w->tick(now);
    hub->sweep(s.index, now);
    check_drained(s);
    start_sweep(s);
  });
}

// Every half second each loop asks to be woken; how late it actually wakes is
// the time its thread was busy with other work (or descheduled): event-loop lag.
void Server::Impl::start_lag_probe(Shard& s) {
  s.lag_probe.expires_after(std::chrono::milliseconds(500));
  s.lag_probe.async_wait([this, &s](const boost::system::error_code& ec) {
    if (ec || s.stopping) return;
    s.metrics->loop_lag.observe(std::chrono::duration_cast<std::chrono::nanoseconds>(
        asio::steady_timer::clock_type::now() - s.lag_probe.expiry()));
    start_lag_probe(s);
  });
}

void Server::Impl::begin_shutdown(bool drain) {
  if (shutting_down.exchange(true)) return;
  boost::system::error_code ec;
  signals->cancel(ec);
  if (!drain || cfg.drain_spread_s == 0) return stop_all(drain);
  // The listener stays open meanwhile, so that /readyz can say 503 to the load balancer.
  const auto spread = std::chrono::seconds(cfg.drain_spread_s);
  for (auto& sp : shards) {
    Shard* s = sp.get();
    asio::post(s->ioc, [this, s, spread] {
      s->draining = true;
      const auto now = WsSession::Clock::now();
      const size_t n = s->sessions.size();
      size_t i = 0;
      for (WsSession* w : s->sessions) w->drain(now + spread * i++ / std::max<size_t>(n, 1));
      check_drained(*s);
    });
  }
  drain_end = std::make_unique<asio::steady_timer>(shards[0]->ioc, spread);
  drain_end->async_wait([this](const boost::system::error_code& e) {
    if (!e) stop_all(true);
  });
}

void Server::Impl::check_drained(Shard& s) {
  if (!s.draining || s.drained || !s.sessions.empty()) return;
  s.drained = true;
  if (drained_shards.fetch_add(1) + 1 == shards.size())
    asio::post(shards[0]->ioc, [this] {
      if (drain_end && drain_end->cancel()) stop_all(true);
    });
}

void Server::Impl::stop_all(bool drained) {
  boost::system::error_code ec;
  acceptor->close(ec);
  for (auto& sp : shards) {
    Shard* s = sp.get();
    asio::post(s->ioc, [s, drained] {
      s->stopping = true;
      s->sweep.cancel();
      s->lag_probe.cancel();
      std::vector<std::shared_ptr<WsSession>> live;
      for (WsSession* w : s->sessions) live.push_back(w->shared_from_this());
      for (auto& w : live) w->shutdown(drained ? "draining" : "shutdown", drained);
      if (s->sessions.empty() && !s->emptied) {
        s->emptied = true;
        s->on_empty();
      }
    });
  }
  // Whatever has not closed within the grace period is cut.
  grace = std::make_unique<asio::steady_timer>(shards[0]->ioc, std::chrono::seconds(cfg.shutdown_grace_s));
  grace->async_wait([this](const boost::system::error_code& e) {
    if (e) return;
    spdlog::warn("shutdown grace period over; closing remaining connections");
    stop_loops();
  });
}

void Server::Impl::shard_emptied(Shard&) {
  if (emptied_shards.fetch_add(1) + 1 != shards.size()) return;
  if (!cluster) return stop_loops();
  // Cluster::stop blocks until its own thread is done, and needs the loops: not on one of them.
  stopper = std::thread([this] {
    cluster->stop();
    stop_loops();
  });
}

// Thread-safe: io_context::stop may be called from any thread.
void Server::Impl::stop_loops() {
  for (auto& s : shards) s->ioc.stop();
}

Server::Server(Config cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}
Server::~Server() = default;

int Server::run() {
  if (!impl_->setup()) return 2;
  auto& shards = impl_->shards;
  for (auto& s : shards) {
    impl_->guards.push_back(asio::make_work_guard(s->ioc));
    impl_->start_sweep(*s);
    impl_->start_lag_probe(*s);
  }
  if (impl_->webhooks) impl_->webhooks->start();
  if (impl_->oidc_keys) impl_->oidc_keys->start();
  if (impl_->cluster) impl_->cluster->start();
  impl_->accept();
  std::vector<std::thread> threads;
  for (uint32_t i = 1; i < shards.size(); ++i) {
    threads.emplace_back([this, i] {
      routing::LocalBus::set_current_shard(i);
      impl_->shards[i]->ioc.run();
    });
  }
  routing::LocalBus::set_current_shard(0);
  shards[0]->ioc.run();
  // Shard 0 may finish first; the others stop when their sessions are gone or at the grace deadline.
  for (auto& t : threads) t.join();
  // Its last leaves (sessions closed by the shutdown) go out, then it leaves the registry: while the
  // loops still ran (shard_emptied), or now, when the grace period cut them short.
  if (impl_->stopper.joinable())
    impl_->stopper.join();
  else if (impl_->cluster)
    impl_->cluster->stop();
  // The last events (peers disconnected by the shutdown) get a short chance to go out.
  if (impl_->webhooks) impl_->webhooks->stop(std::chrono::seconds(2));
  if (impl_->oidc_keys) impl_->oidc_keys->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace sb::service
