// service/tcp_stream.h — the TCP stream under every HTTP connection.
//
// A named type rather than beast::tcp_stream itself, so that the plain and TLS
// session templates can tell their transports apart by type. A plain
// WebSocket session takes the socket out of it (service/ws_session.h).
//
// Sockets are typed on the io_context's own executor, not the polymorphic
// any_io_executor: every connection lives on one loop, and the typed executor
// is one pointer where any_io_executor is 56 bytes, in the socket and again in
// each pending operation (an idle connection's readiness wait).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <utility>

namespace sb::service {

using LoopExecutor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, LoopExecutor>;

class TcpStream : public boost::beast::basic_stream<boost::asio::ip::tcp, LoopExecutor> {
 public:
  using basic_stream::basic_stream;
};

}  // namespace sb::service
