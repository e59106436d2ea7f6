#include "service/http_session.h"

#include <boost/asio/post.hpp>
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

namespace {
std::string describe(const Socket& s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

template <class Stream>
HttpSessionT<Stream>::HttpSessionT(Shard& shard, Socket&& socket) requires(!kTls)
    : shard_(shard), stream_(std::move(socket)) {
  remote_ = describe(beast::get_lowest_layer(stream_).socket());
}

template <class Stream>
HttpSessionT<Stream>::HttpSessionT(Shard& shard, Socket&& socket,
                                   std::shared_ptr<boost::asio::ssl::context> ctx) requires(kTls)
    : shard_(shard), tls_ctx_(std::move(ctx)), stream_(std::move(socket), *tls_ctx_) {
  remote_ = describe(beast::get_lowest_layer(stream_).socket());
}

template <class Stream>
void HttpSessionT<Stream>::run() {
  if constexpr (kTls) {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(shard_.cfg->upgrade_timeout_s));
    stream_.async_handshake(boost::asio::ssl::stream_base::server,
                            [self = this->shared_from_this()](beast::error_code ec) {
                              if (!ec) self->do_read();  // a failed handshake just drops the connection
                            });
  } else {
    do_read();
  }
}

template <class Stream>
void HttpSessionT<Stream>::do_read() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  parser_->body_limit(kMaxBodyBytes);
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(shard_.cfg->upgrade_timeout_s));
  http::async_read(
      stream_, buffer_, *parser_,
      [self = this->shared_from_this()](beast::error_code ec, size_t n) { self->on_read(ec, n); });
}

template <class Stream>
void HttpSessionT<Stream>::on_read(beast::error_code ec, size_t) {
  if (ec == http::error::header_limit || ec == http::error::body_limit) {
    Request req;
    Response res{ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                 : http::status::payload_too_large,
                 11};
    res.set(http::field::server, "switchboard");
    res.keep_alive(false);
    res.prepare_payload();
    return respond(std::move(res));
  }
  if (ec) return close();
  auto req = parser_->release();
  if (beast::websocket::is_upgrade(req)) {
    auto url = boost::urls::parse_origin_form(req.target());
    if (url && url->path() == "/ws" && !shard_.stopping) {
      if (auto refusal = admit(req)) return respond(std::move(*refusal));
      std::string token = access_token(req.target());
      // Bytes the client sent after its request belong to the WebSocket.
      std::string early(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      std::make_shared<WsSessionT<Stream>>(shard_, std::move(stream_), std::move(remote_),
                                           std::move(client_ip_), std::move(token))
          ->run(req, std::move(early));
      return;
    }
  }
  const std::string ip = request_client_ip(req);
  if (is_async_route(*shard_.http, req)) {
    // The handler answers later, from another thread: back to this loop to write.
    handle_async(*shard_.http, req, ip, [self = this->shared_from_this()](Response res) {
      boost::asio::post(self->shard_.ioc, [self, r = std::make_shared<Response>(std::move(res))] {
        self->respond(std::move(*r));
      });
    });
    return;
  }
  respond(handle_request(*shard_.http, req, ip));
}

// The client's address for limits and the audit log: the TCP peer, or what a
// trusted proxy's X-Forwarded-For says. Empty when the connection is gone.
template <class Stream>
std::string HttpSessionT<Stream>::request_client_ip(const Request& req) {
  beast::error_code ec;
  const auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  if (ec) return {};
  // Several X-Forwarded-For lines are one list, in order (RFC 9110 5.3): a
  // proxy that appends its own line after the client's must be the one believed.
  std::string xff;
  for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!xff.empty()) xff += ", ";
    xff.append(it->value().data(), it->value().size());
  }
  return client_ip(peer.address(), xff, *shard_.trusted_proxies);
}

// Decides whether this upgrade may become a WebSocket: Origin allow-list
// (browsers only; not in dev mode), then the admission limits for the client's
// address. On success the connection is counted and client_ip_ is set.
template <class Stream>
std::optional<Response> HttpSessionT<Stream>::admit(const Request& req) {
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
  client_ip_ = request_client_ip(req);
  if (client_ip_.empty()) return refuse(http::status::bad_request, "bad-request", "connection lost", 0);
  Verdict v = shard_.admission->admit(client_ip_, Admission::Clock::now());
  if (v.ok) return std::nullopt;
  return refuse(static_cast<http::status>(v.status), v.status == 503 ? "unavailable" : "rate-limited",
                v.reason, v.retry_after_s);
}

template <class Stream>
void HttpSessionT<Stream>::respond(Response&& response) {
  auto res = std::make_shared<Response>(std::move(response));
  // A fresh deadline for the write: an asynchronous route may have used up the read's.
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(shard_.cfg->upgrade_timeout_s));
  const bool keep_alive = res->keep_alive() && !shard_.stopping;
  res->keep_alive(keep_alive);
  http::async_write(stream_, *res,
                    [self = this->shared_from_this(), res, keep_alive](beast::error_code wec, size_t n) {
                      self->on_write(keep_alive, wec, n);
                    });
}

template <class Stream>
void HttpSessionT<Stream>::on_write(bool keep_alive, beast::error_code ec, size_t) {
  if (ec || !keep_alive) return close();
  do_read();
}

// Ends the connection politely: TLS close_notify (bounded by the deadline), then FIN.
template <class Stream>
void HttpSessionT<Stream>::close() {
  if constexpr (kTls) {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_)
          .socket()
          .shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    });
  } else {
    beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }
}

template class HttpSessionT<TcpStream>;
template class HttpSessionT<beast::ssl_stream<TcpStream>>;

}  // namespace sb::service
