// service/ws_session.h — a protocol v1 session over a WebSocket.
//
// One template for both transports (plain TCP and TLS), instantiated for
// each in ws_session.cpp. Owns the WebSocket stream handed over by HttpSession after the upgrade
// request was read. Reads one frame at a time into a flat buffer that keeps
// simdjson's padding, parses it in place, and hands it to the Hub. Writes are
// queued and sent one after another; the queue is bounded in bytes (a reader
// too slow to keep up is disconnected rather than growing server memory).
// Deadlines (hello, heartbeat) are checked by the shard's sweep timer, so an
// idle connection costs no timer of its own.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "core/fifo.h"
#include "core/token_bucket.h"
#include "service/session.h"
#include "service/shard.h"
#include "service/tcp_stream.h"

namespace sb::service {

// What the shard's sweep and shutdown see of a session, whatever its transport.
class WsSession : public Session, public Transport, public std::enable_shared_from_this<WsSession> {
 public:
  using Clock = std::chrono::steady_clock;
  using Session::Session;

  // Enforces the hello, token-expiry, heartbeat and drain deadlines.
  virtual void tick(Clock::time_point now) = 0;
  // Server shutdown: going-away {reason, reconnect}, then close 1001.
  virtual void shutdown(std::string_view reason, bool reconnect = false) = 0;
  // Drain: at `at` (checked by tick), going-away {reason: "draining", reconnect: true}, then close 1001.
  virtual void drain(Clock::time_point at) = 0;

  Session& session() override { return *this; }
  std::weak_ptr<Transport> transport() override {
    return std::static_pointer_cast<Transport>(shared_from_this());
  }
};

template <class NextLayer>
class WsSessionT final : public WsSession {
 public:
  // `client_ip` was admitted by shard.admission; the session releases it when destroyed.
  WsSessionT(Shard& shard, NextLayer&& stream, std::string remote, std::string client_ip,
             std::string query_token);
  ~WsSessionT() override;

  // Completes the upgrade for `req` and starts reading.
  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  void deliver(const routing::Body& body) override;
  // A closing session is leaving: relays to it are refused (peer-not-found), not acked and dropped.
  // A session closing for a reason it may resume from (shutdown, heartbeat timeout) keeps receiving:
  // its frames are stamped and kept for the replay.
  bool in_room(const RoomId& room) const override {
    return (!closing_ || resumable_close_) && Session::in_room(room);
  }
  void close(uint16_t code, std::string_view reason) override;
  std::function<void()> resumer(std::function<void(Session&)> fn) override;
  void pause_input() override;
  void resume_input() override;

  // Called by the shard's sweep: enforces the hello, heartbeat and drain deadlines.
  void tick(Clock::time_point now) override;
  void shutdown(std::string_view reason, bool reconnect = false) override;
  void drain(Clock::time_point at) override { drain_at_ = at; }

  // Transport: carrying a resumed session homed on any loop.
  void forward_to(uint32_t home, const SessionId& session, uint64_t ticket) override;
  void attached() override;
  void refused() override;
  void write(const routing::Body& body, uint64_t seq) override;
  void end(uint16_t code, std::string_view reason) override { close(code, reason); }

 private:
  std::shared_ptr<WsSessionT> self() { return std::static_pointer_cast<WsSessionT>(shared_from_this()); }
  struct Out {
    routing::Body body;
    char tail[32];
    uint8_t tail_len;
  };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void resume_reading();
  void enqueue(const routing::Body& body, uint64_t seq);
  void on_read(boost::beast::error_code ec, size_t bytes);
  void on_frame(Clock::time_point received_at);
  void do_write();
  void on_write(boost::beast::error_code ec, size_t bytes);
  void do_close();
  void end_linger();
  void finish();

  Shard& shard_;
  boost::beast::websocket::stream<NextLayer> ws_;
  boost::beast::flat_buffer buffer_;
  Fifo<Out> queue_;        // its elements move when it grows: the frame being written
  char writing_tail_[32];  // has its tail copied here
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;  // no more input is processed, queue drains then close
  bool close_sent_ = false;
  bool finished_ = false;
  bool rate_ok(Clock::time_point now, size_t bytes);

  std::string client_ip_;
  TokenBucket msg_rate_;
  TokenBucket byte_rate_;
  unsigned rate_limited_ = 0;  // rate-limited frames in the current window
  Clock::time_point rate_window_start_{};
  bool ping_in_flight_ = false;  // a ping frame is being written
  uint16_t close_code_ = 0;
  std::string close_reason_;
  Clock::time_point hello_deadline_;
  Clock::time_point closing_since_{};
  // How long a close may take (flushing, then the closing handshake) before the socket is cut.
  static constexpr std::chrono::seconds kCloseGrace{5};
  Clock::time_point last_rx_;
  Clock::time_point last_ping_;
  Clock::time_point drain_at_{};  // zero: not draining

  // Session resume: set while this connection carries a session homed on `home`.
  struct Forward {
    uint32_t home;
    SessionId session;
    uint64_t ticket;
  };
  std::optional<Forward> fwd_;
  bool read_pending_ = false;
  bool read_paused_ = false;                // while a resume is being decided on the home loop
  std::shared_ptr<WsSession> paused_self_;  // keeps the session alive while paused (no read pending)
  bool got_close_ = false;                  // the client sent a close frame
  bool resumable_close_ = false;            // closing with 1001 or 4408: the session may be resumed
  // Draining: between going-away and our close frame, the connection is still
  // read (see close()). Allocated only then, so an idle connection has no timer.
  std::unique_ptr<boost::asio::steady_timer> linger_;
  bool lingering_ = false;
  static constexpr std::chrono::seconds kDrainLinger{1};
};

using PlainWsSession = WsSessionT<TcpStream>;
using TlsWsSession = WsSessionT<boost::beast::ssl_stream<TcpStream>>;
extern template class WsSessionT<TcpStream>;
extern template class WsSessionT<boost::beast::ssl_stream<TcpStream>>;

}  // namespace sb::service
