#include "service/ws_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstring>

#include <array>
#include <ctime>

#include "proto/encode.h"
#include "service/admission.h"
#include "service/hub.h"
#include "service/metrics.h"

namespace sb::service {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;

template <class NextLayer>
WsSessionT<NextLayer>::WsSessionT(Shard& shard, NextLayer&& stream, std::string remote, std::string client_ip,
                                  std::string query_token)
    : WsSession(shard.index),
      shard_(shard),
      ws_(std::move(stream)),
      client_ip_(std::move(client_ip)),
      msg_rate_(shard.cfg->max_msgs_per_s, shard.cfg->msg_burst),
      byte_rate_(shard.cfg->max_bytes_per_s, shard.cfg->bytes_burst) {
  remote_ = std::move(remote);
  query_token_ = std::move(query_token);
}

template <class NextLayer>
WsSessionT<NextLayer>::~WsSessionT() {
  shard_.sessions.erase(this);
  shard_.admission->release(client_ip_);
}

template <class NextLayer>
void WsSessionT<NextLayer>::run(beast::http::request<beast::http::string_body> req) {
  beast::get_lowest_layer(ws_).expires_never();  // the websocket's own timeouts take over
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(5);    // upgrade response and closing handshake
  t.idle_timeout = websocket::stream_base::none();  // heartbeats are ours (tick)
  t.keep_alive_pings = false;
  ws_.set_option(t);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "switchboard"); }));
  ws_.read_message_max(shard_.cfg->max_frame_bytes);
  ws_.auto_fragment(false);
  ws_.text(true);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    last_rx_ = Clock::now();
    if (kind == websocket::frame_type::close) got_close_ = true;
  });
  ws_.async_accept(req, [self = self()](beast::error_code ec) { self->on_accept(ec); });
}

template <class NextLayer>
void WsSessionT<NextLayer>::on_accept(beast::error_code ec) {
  if (ec) return;  // the upgrade failed; nothing was registered
  const auto now = Clock::now();
  last_rx_ = last_ping_ = now;
  hello_deadline_ = now + std::chrono::seconds(shard_.cfg->hello_timeout_s);
  shard_.sessions.insert(this);
  shard_.metrics->connections_opened.inc();
  if (shard_.stopping) return shutdown("shutdown");
  if (shard_.draining) return shutdown("draining", true);
  do_read();
}

template <class NextLayer>
void WsSessionT<NextLayer>::do_read() {
  read_pending_ = true;
  ws_.async_read(buffer_, [self = self()](beast::error_code ec, size_t n) { self->on_read(ec, n); });
}

// Posted, never inline: the caller may be inside on_frame, before on_read consumed the buffer.
template <class NextLayer>
void WsSessionT<NextLayer>::resume_reading() {
  read_paused_ = false;
  paused_self_.reset();
  asio::post(ws_.get_executor(), [self = self()] {
    if (!self->read_pending_ && !self->read_paused_ && !self->finished_) self->do_read();
  });
}

template <class NextLayer>
void WsSessionT<NextLayer>::forward_to(uint32_t home, const SessionId& session, uint64_t ticket) {
  fwd_ = Forward{home, session, ticket};
  read_paused_ = true;
  paused_self_ = self();  // no read is pending to keep this session alive meanwhile
}

template <class NextLayer>
void WsSessionT<NextLayer>::pause_input() {
  read_paused_ = true;
  paused_self_ = self();
}

template <class NextLayer>
void WsSessionT<NextLayer>::resume_input() {
  if (read_paused_ && !finished_) resume_reading();
}

template <class NextLayer>
void WsSessionT<NextLayer>::attached() {
  resume_reading();
}

template <class NextLayer>
void WsSessionT<NextLayer>::refused() {
  fwd_.reset();
  resume_reading();
}

template <class NextLayer>
void WsSessionT<NextLayer>::on_read(beast::error_code ec, size_t bytes) {
  read_pending_ = false;
  if (ec) {
    // Closed by peer, by us, or failed (too big -> 1009, bad UTF-8 -> 1007: sent by Beast).
    if (!close_code_ && ec == websocket::error::message_too_big) close_code_ = proto::close_code::too_big;
    if (!close_code_ && ec == websocket::error::bad_frame_payload)
      close_code_ = proto::close_code::bad_payload;
    return finish();
  }
  const auto now = Clock::now();
  last_rx_ = now;
  shard_.metrics->bytes_in.inc(bytes);
  // Closing for a drain or shutdown (resumable), or because the session moved
  // to another node (4409), frames the client sent before it saw our close are
  // still handled: the session goes on, and what it answers waits in its
  // replay buffer (and stored log) for the resume.
  if (!closing_ || resumable_close_ || close_code_ == proto::close_code::resumed_elsewhere) {
    if (!ws_.got_text())
      close(proto::close_code::bad_request, "binary frames are not accepted");
    else if (rate_ok(now, buffer_.size()))
      on_frame(now);
  }
  buffer_.consume(buffer_.size());
  // A big message must not pin a big buffer. (Beast's read prepares the buffer as
  // soon as a read starts, so giving it back after every message would only move
  // the allocation, not save it on an idle connection.)
  if (buffer_.capacity() > 16 * 1024) buffer_.shrink_to_fit();
  if (!read_paused_ && !read_pending_) do_read();
}

// Per-connection token buckets on frames and bytes. A frame over the limit is
// dropped with `rate-limited`; a client that keeps flooding (close_after such
// frames within 10 s) is disconnected with 4429.
template <class NextLayer>
bool WsSessionT<NextLayer>::rate_ok(Clock::time_point now, size_t bytes) {
  if (msg_rate_.take(now) && byte_rate_.take(now, static_cast<double>(bytes))) return true;
  if (now - rate_window_start_ > std::chrono::seconds(10)) {
    rate_window_start_ = now;
    rate_limited_ = 0;
  }
  shard_.metrics->errors[static_cast<size_t>(proto::ErrorCode::rate_limited)].inc();
  send(proto::error({}, proto::ErrorCode::rate_limited, "too many messages; slow down"));
  if (shard_.cfg->rate_limit_close_after > 0 && ++rate_limited_ >= shard_.cfg->rate_limit_close_after)
    close(proto::close_code::rate_limited, "rate limit exceeded");
  return false;
}

template <class NextLayer>
void WsSessionT<NextLayer>::on_frame(Clock::time_point received_at) {
  const size_t len = buffer_.size();
  buffer_.prepare(proto::Parser::kPadding);  // may move the data; re-read the pointer after
  const char* data = static_cast<const char*>(buffer_.data().data());
  if (fwd_) {  // a resumed session: its protocol state is on its home loop
    shard_.hub->forward_input(fwd_->home, fwd_->session, fwd_->ticket, std::string(data, len), received_at);
    return;
  }
  proto::ClientMessage msg;
  proto::ParseError err;
  if (shard_.parser.parse(data, len, len + proto::Parser::kPadding, msg, err))
    shard_.hub->handle(*this, msg, received_at);
  else
    shard_.hub->reject(*this, err);
}

template <class NextLayer>
void WsSessionT<NextLayer>::deliver(const routing::Body& body) {
  if (finished_) return;
  if (fwd_) {  // the home loop stamps it
    shard_.hub->forward_deliver(fwd_->home, fwd_->session, fwd_->ticket, body);
    return;
  }
  // Stamped and kept for replay even while closing: a session that may be
  // resumed must not lose a frame between the drop and its parking.
  const uint64_t seq = stamp(body);
  if (closing_) return;
  enqueue(body, seq);
}

template <class NextLayer>
void WsSessionT<NextLayer>::write(const routing::Body& body, uint64_t seq) {
  if (closing_ || finished_) return;
  enqueue(body, seq);
}

template <class NextLayer>
void WsSessionT<NextLayer>::enqueue(const routing::Body& body, uint64_t seq) {
  Out o{body, {}, 0};
  o.tail_len = static_cast<uint8_t>(proto::write_tail(o.tail, seq));
  queued_bytes_ += body->size() + o.tail_len;
  queue_.push_back(std::move(o));
  if (shard_.cfg->max_queued_bytes && queued_bytes_ > shard_.cfg->max_queued_bytes) {
    spdlog::warn("closing slow reader peer={} remote={} queued_bytes={}", peer_id().str(), remote(),
                 queued_bytes_);
    // Keep the frame being written (its buffer is in use); drop the rest.
    queue_.truncate(writing_ ? 1 : 0);
    queued_bytes_ = queue_.empty() ? 0 : queue_.front().body->size() + queue_.front().tail_len;
    close(proto::close_code::slow_reader, "send queue full");
    return;
  }
  if (!writing_) do_write();
}

template <class NextLayer>
void WsSessionT<NextLayer>::do_write() {
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) do_close();
    return;
  }
  writing_ = true;
  const Out& o = queue_.front();
  std::memcpy(writing_tail_, o.tail, o.tail_len);  // o may move while written (the body's bytes stay)
  std::array<asio::const_buffer, 2> bufs{asio::buffer(*o.body), asio::buffer(writing_tail_, o.tail_len)};
  ws_.async_write(bufs, [self = self()](beast::error_code ec, size_t n) { self->on_write(ec, n); });
}

template <class NextLayer>
void WsSessionT<NextLayer>::on_write(beast::error_code ec, size_t bytes) {
  shard_.metrics->bytes_out.inc(bytes);
  if (!queue_.empty()) {
    queued_bytes_ -= queue_.front().body->size() + queue_.front().tail_len;
    queue_.pop_front();
  }
  if (ec) {
    queue_.clear();
    queued_bytes_ = 0;
    writing_ = false;
    beast::get_lowest_layer(ws_).socket().close(ec);  // the read fails next, which finishes
    return;
  }
  do_write();
}

template <class NextLayer>
void WsSessionT<NextLayer>::close(uint16_t code, std::string_view reason) {
  if (closing_ || finished_) return;
  closing_ = true;
  closing_since_ = Clock::now();
  close_code_ = code;
  close_reason_ = std::string(reason);
  resumable_close_ = code == proto::close_code::going_away || code == proto::close_code::heartbeat_timeout;
  if (code == proto::close_code::going_away && shard_.draining && (authenticated() || fwd_)) {
    // Once our close frame is out, Beast's closing handshake reads and
    // DISCARDS every data frame until the client's close frame: a relay the
    // client sent just before it saw going-away would be lost unanswered.
    // So a draining connection is read on for kDrainLinger first (frames
    // handled, answers kept for the resume); a client that closes at
    // going-away, as the SDK does, ends it sooner.
    lingering_ = true;
    linger_ = std::make_unique<asio::steady_timer>(ws_.get_executor(), kDrainLinger);
    linger_->async_wait([self = self()](beast::error_code ec) {
      if (!ec) self->end_linger();
    });
    return;
  }
  if (read_paused_) resume_reading();  // the closing handshake needs a read
  if (!writing_) do_close();
}

template <class NextLayer>
void WsSessionT<NextLayer>::end_linger() {
  if (!lingering_ || finished_) return;
  lingering_ = false;
  closing_since_ = Clock::now();  // the close grace counts from our close frame
  if (read_paused_) resume_reading();
  if (!writing_) do_close();
}

template <class NextLayer>
std::function<void()> WsSessionT<NextLayer>::resumer(std::function<void(Session&)> fn) {
  std::weak_ptr<WsSessionT> weak = self();
  return [weak, &ioc = shard_.ioc, fn = std::move(fn)]() mutable {
    asio::post(ioc, [weak, fn = std::move(fn)] {
      auto s = weak.lock();
      // A session closing for a drain goes on (its answers wait for the resume).
      if (s && !s->finished_ && (!s->closing_ || s->lingering_)) fn(*s);
    });
  };
}

template <class NextLayer>
void WsSessionT<NextLayer>::do_close() {
  if (close_sent_ || finished_ || lingering_) return;
  close_sent_ = true;
  websocket::close_reason cr(close_code_);
  cr.reason = close_reason_;
  ws_.async_close(cr, [self = self()](beast::error_code) {
    // The pending read completes with `closed` (or the timeout) and finishes the session.
  });
}

template <class NextLayer>
void WsSessionT<NextLayer>::finish() {
  if (finished_) return;
  finished_ = true;
  if (linger_) linger_->cancel();
  // The close code: ours if we closed, else the client's close frame, else none (1006).
  uint16_t code = close_code_;
  if (!code) code = ws_.reason().code;
  if (!code) code = got_close_ ? 1005 : 1006;  // a close frame without a status code, or none at all
  shard_.metrics->closed[close_code_index(code)].inc();
  // Resumable: the connection dropped, or we closed it for shutdown/drain or
  // a missed heartbeat. Not: the client said goodbye (1000, or a close frame
  // without a status: what a browser's ws.close() sends) or we closed it for a
  // policy reason (bad requests, token, rate, slow reader).
  const bool resumable =
      close_code_ ? resumable_close_ : (code != websocket::close_code::normal && code != 1005);
  if (fwd_)
    shard_.hub->transport_closed(fwd_->home, fwd_->session, fwd_->ticket, resumable);
  else
    shard_.hub->disconnect(*this, resumable);
  shard_.sessions.erase(this);
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
  if (shard_.stopping && shard_.sessions.empty() && !shard_.emptied) {
    shard_.emptied = true;
    shard_.on_empty();
  }
}

template <class NextLayer>
void WsSessionT<NextLayer>::tick(Clock::time_point now) {
  if (finished_) return;
  if (closing_) {
    // A peer that stopped reading blocks the last write, and with it the
    // close handshake, forever. Past the grace period the socket is cut; the
    // pending operations then fail and finish() frees the session.
    if (!lingering_ && now - closing_since_ >= kCloseGrace) beast::get_lowest_layer(ws_).close();
    return;
  }
  if (drain_at_ != Clock::time_point{} && now >= drain_at_) return shutdown("draining", true);
  if (!fwd_) {  // a resumed session's token is checked on its home loop (Hub::sweep)
    if (!authenticated()) {
      if (now >= hello_deadline_) close(proto::close_code::unauthorized, "no hello in time");
      return;
    }
    shard_.hub->check_expiry(*this, static_cast<int64_t>(std::time(nullptr)));
    if (closing_) return;
  }
  const auto hb = std::chrono::seconds(shard_.cfg->heartbeat_s);
  // Silent for 2 heartbeats ends the session, but only once it was pinged
  // after its last frame: with a short heartbeat and this once-a-second
  // sweep, the first ping could otherwise come due at the very tick that
  // finds the client silent, and a client that answers every ping would be
  // dropped without having been asked.
  const bool silent = now - last_rx_ >= 2 * hb;
  if (silent && last_ping_ > last_rx_) {
    close(proto::close_code::heartbeat_timeout, "heartbeat timeout");
    return;
  }
  // A ping every heartbeat, whether or not the last one was answered; only
  // one ping write may be outstanding at a time.
  if (!ping_in_flight_ && (silent || now - last_ping_ >= hb)) {
    ping_in_flight_ = true;
    last_ping_ = now;
    ws_.async_ping({}, [self = self()](beast::error_code) { self->ping_in_flight_ = false; });
  }
}

template <class NextLayer>
void WsSessionT<NextLayer>::shutdown(std::string_view reason, bool reconnect) {
  if (closing_ || finished_) return;
  auto notice = std::make_shared<const std::string>(proto::going_away(reason, reconnect));
  if (fwd_ && !read_paused_) {  // stamped on the home loop, which then closes us, in that order
    drain_at_ = {};
    shard_.hub->forward_end(fwd_->home, fwd_->session, fwd_->ticket, std::move(notice),
                            proto::close_code::going_away, std::string(reason));
    return;
  }
  deliver(notice);
  close(websocket::close_code::going_away, reason);
}

template class WsSessionT<TcpStream>;
template class WsSessionT<beast::ssl_stream<TcpStream>>;

}  // namespace sb::service
