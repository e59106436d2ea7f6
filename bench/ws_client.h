// bench/ws_client.h — the load generator's client side of one WebSocket.
//
// Hand-written RFC 6455 client framing over a raw Asio TCP socket rather than
// Beast's websocket::stream: the generator shares a 2-core machine with the
// server it measures, so every cycle and byte it spends is taken from the
// server. A Beast stream carries its own read buffer and handshake state
// (several KiB per connection, ~100k connections in the big idle run) and runs
// a composed operation per frame. Here:
//  - an idle connection holds no buffer at all: readiness is awaited with
//    async_wait and bytes are read into one scratch buffer per thread; only a
//    partial frame at the end of a read is kept per connection;
//  - frames queued during one handler are written with one send() at the end
//    of it (the flush is posted), so a burst of relays costs one syscall;
//  - the client frames are masked (as RFC 6455 requires of clients and as
//    every server checks) with a per-connection random key, 8 bytes at a time.
// Server frames are expected unmasked; text frames (fragmented or not) go to
// the handler, pings are answered, a close frame ends the connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sb::bench {

class WsClient : public std::enable_shared_from_this<WsClient> {
 public:
  class Handler {
   public:
    // The upgrade succeeded; frames may be sent.
    virtual void on_open(WsClient& c) = 0;
    // One complete text message.
    virtual void on_text(WsClient& c, std::string_view msg) = 0;
    // The connection ended without abort() being called: a failed connect or
    // upgrade, an I/O error, EOF, or a close frame from the server (`close_code`).
    virtual void on_closed(WsClient& c, std::string_view why, uint16_t close_code) = 0;

   protected:
    ~Handler() = default;
  };

  // `scratch` is the owning thread's read buffer, shared by all its connections.
  WsClient(boost::asio::io_context& io, Handler& h, std::vector<char>& scratch, uint32_t tag);

  // Connects from `source` (an ephemeral port on that address) and sends `upgrade_request`.
  void start(const boost::asio::ip::tcp::endpoint& server, const boost::asio::ip::address_v4& source,
             const std::string& upgrade_request);

  // Queues one text frame; it is written at the end of the current handler.
  void send_text(std::string_view payload);

  // Drops the connection with a TCP reset: no close handshake, no TIME_WAIT
  // (a join storm would otherwise run out of ports within a minute).
  void abort();

  bool is_open() const { return state_ == State::open; }
  uint32_t tag() const { return tag_; }

 private:
  enum class State : uint8_t { connecting, upgrading, open, closed };

  void on_connected(const boost::system::error_code& ec);
  void wait_readable();
  void on_readable();
  void consume(const char* data, size_t n);
  size_t parse_frames(const char* data, size_t n);  // returns bytes used
  void append_frame(uint8_t opcode, std::string_view payload);
  void schedule_flush();
  void flush();
  void fail(std::string_view why, uint16_t close_code = 0);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket sock_;
  Handler& handler_;
  std::vector<char>& scratch_;
  std::string in_;   // an incomplete frame (or HTTP response) carried to the next read
  std::string msg_;  // a fragmented text message being reassembled
  std::string out_;  // frames not yet written
  uint32_t mask_;
  uint32_t tag_;
  State state_ = State::connecting;
  bool flush_posted_ = false;
  bool write_waiting_ = false;
};

}  // namespace sb::bench
