#include "service/token_endpoint.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <ctime>

#include "identity/password.h"
#include "identity/user_store.h"
#include "service/audit_log.h"
#include "service/auth_backend.h"

namespace sb::service {

namespace {

constexpr std::string_view kBadCredentials = "wrong username or password";

Response with_retry_after(Response res, unsigned seconds) {
  res.set(http::field::retry_after, std::to_string(seconds));
  return res;
}

// Wipes a password from memory once it has been used (best effort: copies the
// HTTP parser made are gone with the request).
void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

struct TokenEndpoint::Impl {
  TokenEndpointConfig cfg;
  auth::TokenSigner signer;
  AuditSink* audit;
  identity::LoginThrottle throttle;
  std::unique_ptr<identity::UserStore> store;
  std::unique_ptr<AuthBackend> backend;
  std::atomic<size_t> pending{0};
  boost::asio::thread_pool pool;  // last: joined first

  Impl(TokenEndpointConfig c, auth::TokenSigner s, AuditSink* a)
      : cfg(std::move(c)),
        signer(std::move(s)),
        audit(a),
        throttle(cfg.throttle),
        pool(std::max(1u, cfg.workers)) {}

  void log(std::string_view outcome, std::string_view reason, const std::string& user, const std::string& ip,
           std::string_view room = {}, std::string_view detail = {}) {
    if (audit) audit->write(AuditEvent{"login", outcome, reason, user, {}, ip, room, detail});
  }

  Response work(const Request& meta, identity::TokenRequest& tr, const std::string& ip);
};

// On a worker thread.
Response TokenEndpoint::Impl::work(const Request& meta, identity::TokenRequest& tr, const std::string& ip) {
  identity::Principal who;
  if (store) {
    std::optional<identity::User> u;
    try {
      u = store->find(UserId(tr.username));
    } catch (const std::exception& e) {
      wipe(tr.password);
      spdlog::error("user store: {}", e.what());
      log("failure", "user-store-unavailable", tr.username, ip);
      return with_retry_after(json_error(meta, http::status::service_unavailable, "user-store-unavailable",
                                         "the user store cannot be read; try again"),
                              1);
    }
    const bool ok = u ? identity::verify_password(u->password_hash, tr.password)
                      : (identity::verify_dummy_password(tr.password), false);
    wipe(tr.password);
    if (!ok) {
      log("failure", "invalid-credentials", tr.username, ip, {}, u ? "wrong password" : "unknown user");
      return json_error(meta, http::status::unauthorized, "invalid-credentials", kBadCredentials);
    }
    who = identity::Principal{u->id, u->name, u->grants};
  } else {
    BackendAnswer a = backend->check(tr.username, tr.password);
    wipe(tr.password);
    switch (a.kind) {
      case BackendAnswer::Kind::ok: who = std::move(a.principal); break;
      case BackendAnswer::Kind::rejected:
        log("failure", "invalid-credentials", tr.username, ip, {}, "backend: " + a.detail);
        return json_error(meta, http::status::unauthorized, "invalid-credentials", kBadCredentials);
      case BackendAnswer::Kind::bad_response:
        spdlog::warn("auth backend: {}", a.detail);
        log("failure", "auth-backend-error", tr.username, ip, {}, a.detail);
        return json_error(meta, http::status::bad_gateway, "auth-backend-error",
                          "the authentication backend gave an invalid answer");
      case BackendAnswer::Kind::unavailable:
        spdlog::warn("auth backend: {}", a.detail);
        log("failure", "auth-backend-unavailable", tr.username, ip, {}, a.detail);
        return with_retry_after(
            json_error(meta, http::status::service_unavailable, "auth-backend-unavailable",
                       "the authentication backend cannot be reached; try again"),
            5);
    }
  }
  throttle.succeeded(tr.username, ip, identity::LoginThrottle::Clock::now());
  identity::IssuedToken issued;
  const auto now = static_cast<int64_t>(std::time(nullptr));
  if (identity::issue_token(signer, cfg.policy, who, tr.room, tr.ttl_s, now, issued) ==
      identity::IssueError::room_not_granted) {
    log("denied", "room-not-granted", who.user.string(), ip, tr.room.value_or(""));
    return json_error(meta, http::status::forbidden, "forbidden", "your grants do not include this room");
  }
  log("success", {}, who.user.string(), ip, tr.room.value_or(""));
  Response res =
      make_response(meta, http::status::ok, identity::token_response_json(issued), "application/json");
  res.set(http::field::cache_control, "no-store");
  return res;
}

TokenEndpoint::TokenEndpoint(TokenEndpointConfig cfg, auth::TokenSigner signer, AuditSink* audit) {
  const bool db = !cfg.user_db.empty();
  const bool url = !cfg.backend_url.empty();
  if (db == url)
    throw std::invalid_argument("the token service needs exactly one of --user-db and --auth-backend-url");
  std::unique_ptr<identity::UserStore> store;
  std::unique_ptr<AuthBackend> backend;
  if (db) store = std::make_unique<identity::UserStore>(cfg.user_db);
  if (url)
    backend = std::make_unique<AuthBackend>(
        AuthBackendConfig{cfg.backend_url, cfg.backend_ca_file, cfg.backend_timeout_ms});
  impl_ = std::make_unique<Impl>(std::move(cfg), std::move(signer), audit);
  impl_->store = std::move(store);
  impl_->backend = std::move(backend);
}

TokenEndpoint::~TokenEndpoint() {
  impl_->pool.stop();
  impl_->pool.join();
}

void TokenEndpoint::handle(const Request& req, const std::string& client_ip, HttpContext::Done done) {
  Request meta{req.method(), req.target(), req.version()};
  meta.keep_alive(req.keep_alive());
  if (req.method() != http::verb::post) {
    Response res = json_error(meta, http::status::method_not_allowed, "method-not-allowed", "use POST");
    res.set(http::field::allow, "POST");
    return done(std::move(res));
  }
  if (auto ct = req.find(http::field::content_type); ct != req.end()) {
    std::string_view v = ct->value();
    if (v.substr(0, v.find(';')) != "application/json")
      return done(json_error(meta, http::status::unsupported_media_type, "unsupported-media-type",
                             "the body must be application/json"));
  }
  std::string error;
  auto tr = identity::parse_token_request(req.body(), error);
  if (!tr) return done(json_error(meta, http::status::bad_request, "bad-request", error));

  if (unsigned wait = impl_->throttle.begin(tr->username, client_ip, identity::LoginThrottle::Clock::now())) {
    wipe(tr->password);
    impl_->log("failure", "rate-limited", tr->username, client_ip);
    return done(with_retry_after(json_error(meta, http::status::too_many_requests, "rate-limited",
                                            "too many failed logins; try again later"),
                                 wait));
  }
  if (impl_->pending.fetch_add(1) >= impl_->cfg.max_pending) {
    impl_->pending.fetch_sub(1);
    wipe(tr->password);
    impl_->log("failure", "busy", tr->username, client_ip);
    return done(with_retry_after(
        json_error(meta, http::status::service_unavailable, "busy", "too many logins in progress; try again"),
        1));
  }
  boost::asio::post(impl_->pool, [impl = impl_.get(), meta = std::move(meta), r = std::move(*tr),
                                  ip = client_ip, done = std::move(done)]() mutable {
    Response res;
    try {
      res = impl->work(meta, r, ip);
    } catch (const std::exception& e) {
      spdlog::error("token service: {}", e.what());
      res =
          json_error(meta, http::status::internal_server_error, "internal", "the token could not be issued");
    }
    impl->pending.fetch_sub(1);
    done(std::move(res));
  });
}

}  // namespace sb::service
