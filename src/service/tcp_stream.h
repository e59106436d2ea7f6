// service/tcp_stream.h — the TCP stream under every connection, with a
// WebSocket teardown that drains the input before it closes.
//
// When a server fails a WebSocket connection (1007, 1009, ...) it sends a
// close frame, shuts its sending side and must read what the client still
// sends until the client's FIN: closing a socket with unread input makes the
// kernel send RST, and a client that receives RST discards what it had not
// read yet, the close frame included, so it sees 1006 instead of the code.
// Boost.Beast 1.81's TCP teardown (websocket/impl/teardown.hpp) means to do
// this but tests the handler's `bytes_transferred` argument instead of what
// read_some returned, so it leaves after the first chunk that was already
// there. TcpStream is a beast::tcp_stream whose teardown, found by
// argument-dependent lookup (Beast's documented customisation point), reads
// to the end. It is bounded by the WebSocket's close timeout and the
// session's close grace, which close the socket and so end the read.
#pragma once

#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <utility>

namespace sb::service {

class TcpStream : public boost::beast::tcp_stream {
 public:
  using boost::beast::tcp_stream::tcp_stream;
  explicit TcpStream(boost::beast::tcp_stream&& s) : boost::beast::tcp_stream(std::move(s)) {}
};

namespace detail {

// Shuts the sending side (server role), then reads and discards until EOF or
// an error (a closed socket, a reset). Cost: one 2 KiB buffer for the drain.
struct DrainTeardown {
  TcpStream& stream;
  boost::beast::role_type role;
  std::unique_ptr<char[]> buf = std::make_unique<char[]>(kChunk);
  bool started = false;
  static constexpr size_t kChunk = 2048;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}, size_t = 0) {
    auto& sock = stream.socket();
    if (!started) {
      started = true;
      if (role == boost::beast::role_type::server) sock.shutdown(boost::asio::socket_base::shutdown_send, ec);
      if (ec) {
        // Never complete inside the initiating call.
        return boost::asio::post(sock.get_executor(),
                                 [self = std::move(self), ec]() mutable { self.complete(ec); });
      }
    } else if (ec) {
      if (ec == boost::asio::error::eof) ec = {};
      if (!ec && role == boost::beast::role_type::client)
        sock.shutdown(boost::asio::socket_base::shutdown_send, ec);
      boost::system::error_code ignored;
      sock.close(ignored);
      return self.complete(ec);
    }
    sock.async_read_some(boost::asio::buffer(buf.get(), kChunk), std::move(self));
  }
};

}  // namespace detail

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, TcpStream& stream, TeardownHandler&& handler) {
  boost::asio::async_compose<TeardownHandler, void(boost::system::error_code)>(
      detail::DrainTeardown{stream, role}, handler, stream.socket());
}

// The blocking form, for completeness (the server only closes asynchronously).
inline void teardown(boost::beast::role_type role, TcpStream& stream, boost::system::error_code& ec) {
  auto& sock = stream.socket();
  if (role == boost::beast::role_type::server) sock.shutdown(boost::asio::socket_base::shutdown_send, ec);
  if (ec) return;
  char buf[2048];
  while (!ec) sock.read_some(boost::asio::buffer(buf), ec);
  if (ec == boost::asio::error::eof) ec = {};
  if (!ec && role == boost::beast::role_type::client)
    sock.shutdown(boost::asio::socket_base::shutdown_send, ec);
  boost::system::error_code ignored;
  sock.close(ignored);
}

}  // namespace sb::service
