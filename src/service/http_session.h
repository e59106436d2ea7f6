// service/http_session.h — one HTTP/1.1 connection until it upgrades or closes.
//
// Reads requests with a bounded header and body and a deadline; answers them
// through handle_request(); on `GET /ws` with an upgrade, checks admission,
// moves the stream into a WsSession and steps aside. One template for plain
// TCP and TLS (which first completes the TLS handshake, under the same deadline).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <optional>

#include "service/http_routes.h"
#include "service/shard.h"
#include "service/tcp_stream.h"

namespace sb::service {

template <class Stream>
class HttpSessionT : public std::enable_shared_from_this<HttpSessionT<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, TcpStream>;

  // Plain TCP.
  HttpSessionT(Shard& shard, Socket&& socket) requires(!kTls);
  // TLS with `ctx` (kept alive by this session, so a reload never affects it).
  HttpSessionT(Shard& shard, Socket&& socket, std::shared_ptr<boost::asio::ssl::context> ctx) requires(kTls);

  void run();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, size_t bytes);
  void on_write(bool keep_alive, boost::beast::error_code ec, size_t bytes);
  std::optional<Response> admit(const Request& req);
  std::string request_client_ip(const Request& req);
  void respond(Response&& res);
  void close();

  Shard& shard_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string remote_;     // "ip:port" of the TCP peer, for logs
  std::string client_ip_;  // the client's address (X-Forwarded-For from trusted proxies), for limits
};

using PlainHttpSession = HttpSessionT<TcpStream>;
using TlsHttpSession = HttpSessionT<boost::beast::ssl_stream<TcpStream>>;
extern template class HttpSessionT<TcpStream>;
extern template class HttpSessionT<boost::beast::ssl_stream<TcpStream>>;

}  // namespace sb::service
