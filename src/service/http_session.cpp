#include "service/http_session.h"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include "service/ws_session.h"

namespace sb::service {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr auto kRequestTimeout = std::chrono::seconds(15);
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
  stream_.expires_after(kRequestTimeout);
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
      std::string token = access_token(req.target());
      std::make_shared<WsSession>(shard_, std::move(stream_), std::move(remote_), std::move(token))
          ->run(std::move(req));
      return;
    }
  }
  auto res = std::make_shared<Response>(handle_request(*shard_.http, req));
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
