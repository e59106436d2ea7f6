// service/http_session.h — one HTTP/1.1 connection until it upgrades or closes.
//
// Reads requests with a bounded header and body and a deadline; answers them
// through handle_request(); on `GET /ws` with an upgrade, moves the stream into
// a WsSession and steps aside.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>

#include "service/http_routes.h"
#include "service/shard.h"

namespace sb::service {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Shard& shard, boost::asio::ip::tcp::socket&& socket);
  void run();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, size_t bytes);
  void on_write(bool keep_alive, boost::beast::error_code ec, size_t bytes);
  std::optional<Response> admit(const Request& req);
  void respond(Response&& res);

  Shard& shard_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string remote_;     // "ip:port" of the TCP peer, for logs
  std::string client_ip_;  // the client's address (X-Forwarded-For from trusted proxies), for limits
};

}  // namespace sb::service
