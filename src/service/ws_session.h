// service/ws_session.h — a protocol v1 session over a WebSocket.
//
// One template for both transports (plain TCP and TLS), instantiated for each
// in ws_session.cpp. HttpSession reads the upgrade request, then hands the
// stream over; the session answers the handshake itself and speaks RFC 6455
// with ws::FrameReader and ws::write_header.
//
// Reading. A plain connection owns no receive buffer while idle: it waits for
// the socket to become readable, reads into its shard's scratch buffer, and
// parses the frames there in place. Only the start of a frame that has not
// fully arrived is kept, in the session's own buffer. (TLS reads through the
// session's buffer: OpenSSL holds its own records anyway.)
//
// Writing. Frames are queued (a shared body plus the header and the seq tail,
// no copy) and written once per loop turn: the first frame queued in a turn
// puts the session on its shard's flush list, and one posted handler writes
// every listed session's queue with one gathered write each. A plain socket is
// written without blocking, and waits for writability only when the kernel's
// buffer is full. A client that does not read is not read either while its
// queue is over 64 KiB. The queue is bounded in bytes: a reader too slow to keep up
// is disconnected (1008) rather than growing server memory.
//
// Closing. Either side's close frame, or a failure the reader found (1002,
// 1007, 1009), leads to the teardown: the sending side is shut and the input
// read until the client's FIN, so the client reads our close frame before the
// connection goes (closing with unread input would send RST, and a client
// that receives RST discards what it had not read yet, our close frame too).
//
// Deadlines (hello, heartbeat, the close grace) are checked by the shard's
// sweep timer, so an idle connection costs no timer of its own.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>

#include "core/fifo.h"
#include "core/padded_buffer.h"
#include "core/token_bucket.h"
#include "service/session.h"
#include "service/shard.h"
#include "service/tcp_stream.h"
#include "ws/frame_reader.h"

namespace sb::service {

// What the shard's sweep, flush and shutdown see of a session, whatever its transport.
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
  // Writes what was queued this loop turn (called by the shard's flush).
  virtual void flush() = 0;

  Session& session() override { return *this; }
  std::weak_ptr<Transport> transport() override {
    return std::static_pointer_cast<Transport>(shared_from_this());
  }
};

// Puts `s` on its shard's flush list; the first in a loop turn posts the flush. O(1).
void schedule_flush(Shard& shard, std::shared_ptr<WsSession> s);

template <class HttpStream>
class WsSessionT final : public WsSession {
  static constexpr bool kTls = !std::is_same_v<HttpStream, TcpStream>;
  // A plain connection drops Beast's tcp_stream (its timer and rate policy): the sweep keeps time.
  using Stream = std::conditional_t<kTls, HttpStream, Socket>;

 public:
  // `client_ip` was admitted by shard.admission; the session releases it when destroyed.
  WsSessionT(Shard& shard, HttpStream&& stream, std::string remote, std::string client_ip,
             std::string query_token);
  ~WsSessionT() override;

  // Answers the upgrade `req`; once the 101 is written, handles `early` (bytes
  // the client sent after its request) and starts reading.
  void run(const boost::beast::http::request<boost::beast::http::string_body>& req, std::string early);

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

  void tick(Clock::time_point now) override;
  void shutdown(std::string_view reason, bool reconnect = false) override;
  void drain(Clock::time_point at) override { extra().drain_at = at; }
  void flush() override;

  // Transport: carrying a resumed session homed on any loop.
  void forward_to(uint32_t home, const SessionId& session, uint64_t ticket) override;
  void attached() override;
  void refused() override;
  void write(const routing::Body& body, uint64_t seq) override;
  void end(uint16_t code, std::string_view reason) override { close(code, reason); }

 private:
  std::shared_ptr<WsSessionT> self() { return std::static_pointer_cast<WsSessionT>(shared_from_this()); }
  Socket& socket();

  // One queued frame: header, then a shared body (may be empty), then up to 32 bytes of tail
  // (the seq, or a small control payload).
  struct Out {
    routing::Body body;
    uint8_t head_len = 0;
    uint8_t tail_len = 0;
    char head[10];
    char tail[32];
    size_t size() const { return head_len + (body ? body->size() : 0) + tail_len; }
  };

  void on_upgraded(std::string early);
  // Input
  void read_on();        // reads what there is, then waits for more
  void wait_readable();  // plain
  void read_tls();       // TLS
  void on_input(char* data, size_t len, bool from_scratch);
  void parse_held();  // parses what rx_ holds
  size_t parse(char* data, size_t len, size_t capacity);
  bool on_event(const ws::Event& ev, Clock::time_point now);  // false: stop parsing
  void on_message(const ws::Event& ev, Clock::time_point now);
  void fail(ws::Failure f);
  // The client's close frame or a broken frame ends the connection now: our
  // close frame (with `code`, none when 0) replaces what was still queued, or,
  // when ours is already written, the connection is torn down.
  void close_at_once(uint16_t code, Clock::time_point now);
  void resume_reading();
  bool rate_ok(Clock::time_point now, size_t bytes);
  // Output
  void enqueue(const routing::Body& body, uint64_t seq);
  void push(Out&& o);
  void push_control(ws::Opcode op, std::string_view payload);
  void send_close();
  void queue_close(uint16_t code, std::string_view reason);  // our close frame; nothing is queued after it
  void write_plain();
  void write_tls();
  void sent(size_t bytes);  // bookkeeping after `bytes` of the queue went out
  void after_write();
  void on_write_error();
  void drop_unsent();
  void teardown();
  void end_linger();
  void finish();

  Shard& shard_;
  Stream stream_;
  ws::FrameReader reader_;
  PaddedBuffer rx_;  // plain: the start of a frame not yet complete; TLS: the receive buffer
  Fifo<Out> queue_;
  size_t front_sent_ = 0;  // bytes of queue_.front() already written
  size_t queued_bytes_ = 0;
  struct None {};
  // TLS: the bytes of the write in flight (a plain connection writes from the queue itself).
  [[no_unique_address]] std::conditional_t<kTls, std::string, None> tls_out_;
  bool flush_listed_ = false;   // on the shard's flush list
  bool write_blocked_ = false;  // waiting for writability, or a TLS write is in flight
  bool read_pending_ = false;
  bool read_paused_ = false;  // while a join or a resume is being decided
  // Back-pressure: while more than kHoldInputBytes wait for a client that is
  // not reading, its input is not read either (a ping flood's pongs, or
  // requests' answers, cannot pile up). Released at half that.
  bool input_held_ = false;
  static constexpr size_t kHoldInputBytes = 64 * 1024;
  bool closing_ = false;        // closing: input is no longer handled (except see on_message)
  bool close_queued_ = false;   // our close frame is in the queue: nothing is queued after it
  bool close_written_ = false;  // ... and is written
  bool got_close_ = false;      // the client sent a close frame
  uint16_t peer_close_code_ = 0;
  bool failed_ = false;        // the reader failed the connection (1002, 1007, 1009)
  bool tearing_down_ = false;  // our sending side is shut; input is read until the client's FIN
  bool finished_ = false;
  bool ping_queued_ = false;      // a heartbeat ping is in the queue
  bool resumable_close_ = false;  // closing with 1001 or 4408: the session may be resumed
  bool lingering_ = false;        // draining: between going-away and our close frame (see close())
  uint16_t close_code_ = 0;

  std::string client_ip_;
  // The frame and byte limits; their rates are the shard's settings (rates()).
  TokenCounter msg_rate_;
  TokenCounter byte_rate_;
  Clock::time_point hello_deadline_;
  // How long a close may take (flushing, then the closing handshake) before the socket is cut.
  static constexpr std::chrono::seconds kCloseGrace{5};
  Clock::time_point last_rx_;
  Clock::time_point last_ping_;
  static constexpr std::chrono::seconds kDrainLinger{1};
  static constexpr std::chrono::seconds kRateWindow{10};  // see rate_ok()

  // Session resume: set while this connection carries a session homed on `home`.
  struct Forward {
    uint32_t home;
    SessionId session;
    uint64_t ticket;
  };
  // What few connections need, out of line and allocated on first use, so
  // that an idle connection does not carry its ~120 bytes: a paused input's
  // self-reference, a rate-limit window, a drain, a close under way, a
  // resumed session's forwarding. Freed by the sweep once unused (a closing
  // connection keeps it to its end).
  struct Extra {
    std::shared_ptr<WsSession> paused_self;  // keeps the session alive while paused (no read is pending)
    unsigned rate_limited = 0;               // rate-limited frames in the current window
    Clock::time_point rate_window_start{};
    Clock::time_point drain_at{};  // zero: not draining
    Clock::time_point closing_since{};
    std::string close_reason;
    // Draining: the linger before our close frame (see close()).
    std::unique_ptr<boost::asio::steady_timer> linger;
    std::optional<Forward> fwd;
    bool unused(Clock::time_point now) const {
      return !paused_self && (rate_limited == 0 || now - rate_window_start > kRateWindow) &&
             drain_at == Clock::time_point{} && !linger && !fwd;
    }
  };
  Extra& extra() {
    if (!extra_) extra_ = std::make_unique<Extra>();
    return *extra_;
  }
  const Forward* fwd() const { return extra_ && extra_->fwd ? &*extra_->fwd : nullptr; }
  std::unique_ptr<Extra> extra_;
};

using PlainWsSession = WsSessionT<TcpStream>;
using TlsWsSession = WsSessionT<boost::beast::ssl_stream<TcpStream>>;
extern template class WsSessionT<TcpStream>;
extern template class WsSessionT<boost::beast::ssl_stream<TcpStream>>;

}  // namespace sb::service
