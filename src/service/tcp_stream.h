// service/tcp_stream.h — the TCP stream under every HTTP connection.
//
// A named type rather than beast::tcp_stream itself, so that the plain and TLS
// session templates can tell their transports apart by type. A plain
// WebSocket session takes the socket out of it (service/ws_session.h).
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <utility>

namespace sb::service {

class TcpStream : public boost::beast::tcp_stream {
 public:
  using boost::beast::tcp_stream::tcp_stream;
  explicit TcpStream(boost::beast::tcp_stream&& s) : boost::beast::tcp_stream(std::move(s)) {}
};

}  // namespace sb::service
