#include "service/http_session.h"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include "core/json_text.h"
#include "service/admission.h"
#include "service/client_address.h"
#include "service/ws_session.h"

namespace sb::service {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 64 * 1024;

std::string access_token(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return {};
  auto params = url->params();
  auto it = params.find("access_token");
  if (it == params.end() || !(*it).has_value) return {};
  return (*it).value;
}
}  // namespace

HttpSession::HttpSession(Shard& shard, boost::asio::ip::tcp::socket&& socket)
    : shard_(shard), stream_(std::move(socket)) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
}

void HttpSession::run() {
  do_read();
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  parser_->body_limit(kMaxBodyBytes);
  stream_.expires_after(std::chrono::seconds(shard_.cfg->upgrade_timeout_s));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t n) { self->on_read(ec, n); });
}

void HttpSession::on_read(beast::error_code ec, size_t) {
  if (ec) {
    beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    return;
  }
  auto req = parser_->release();
  if (beast::websocket::is_upgrade(req)) {
    auto url = boost::urls::parse_origin_form(req.target());
    if (url && url->path() == "/ws" && !shard_.stopping) {
      if (auto refusal = admit(req)) return respond(std::move(*refusal));
      std::string token = access_token(req.target());
      std::make_shared<WsSession>(shard_, std::move(stream_), std::move(remote_), std::move(client_ip_),
                                  std::move(token))
          ->run(std::move(req));
      return;
    }
  }
  respond(handle_request(*shard_.http, req));
}

// Decides whether this upgrade may become a WebSocket: Origin allow-list
// (browsers only; not in dev mode), then the admission limits for the client's
// address. On success the connection is counted and client_ip_ is set.
std::optional<Response> HttpSession::admit(const Request& req) {
  const Config& cfg = *shard_.cfg;
  auto refuse = [&](http::status status, std::string_view code, std::string_view message,
                    unsigned retry_after) {
    Response res{status, req.version()};
    res.set(http::field::server, "switchboard");
    res.set(http::field::content_type, "application/json");
    if (retry_after) res.set(http::field::retry_after, std::to_string(retry_after));
    res.keep_alive(false);
    std::string body = "{\"error\":{\"code\":";
    json_append_string(body, code);
    body += ",\"message\":";
    json_append_string(body, message);
    body += "}}";
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };
  if (!cfg.dev && !cfg.allowed_origins.empty()) {
    auto origin = req.find(http::field::origin);
    if (origin != req.end() && std::find(cfg.allowed_origins.begin(), cfg.allowed_origins.end(),
                                         std::string(origin->value())) == cfg.allowed_origins.end())
      return refuse(http::status::forbidden, "forbidden", "origin not allowed", 0);
  }
  beast::error_code ec;
  const auto peer = stream_.socket().remote_endpoint(ec);
  if (ec) return refuse(http::status::bad_request, "bad-request", "connection lost", 0);
  auto xff = req.find("X-Forwarded-For");
  client_ip_ =
      client_ip(peer.address(), xff == req.end() ? std::string_view{} : std::string_view(xff->value()),
                *shard_.trusted_proxies);
  Verdict v = shard_.admission->admit(client_ip_, Admission::Clock::now());
  if (v.ok) return std::nullopt;
  return refuse(static_cast<http::status>(v.status), v.status == 503 ? "unavailable" : "rate-limited",
                v.reason, v.retry_after_s);
}

void HttpSession::respond(Response&& response) {
  auto res = std::make_shared<Response>(std::move(response));
  const bool keep_alive = res->keep_alive() && !shard_.stopping;
  res->keep_alive(keep_alive);
  http::async_write(stream_, *res,
                    [self = shared_from_this(), res, keep_alive](beast::error_code wec, size_t n) {
                      self->on_write(keep_alive, wec, n);
                    });
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, size_t) {
  if (ec || !keep_alive) {
    beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    return;
  }
  do_read();
}

}  // namespace sb::service
