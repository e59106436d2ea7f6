#include "service/ws_session.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <ctime>
#include <span>

#include "core/utf8.h"
#include "proto/encode.h"
#include "service/admission.h"
#include "service/hub.h"
#include "service/metrics.h"
#include "service/ws_upgrade.h"
#include "ws/frame_writer.h"

namespace sb::service {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ws::Opcode;

static_assert(PaddedBuffer::kPadding >= proto::Parser::kPadding);
static_assert(ws::FrameReader::kPadding >= proto::Parser::kPadding);

void schedule_flush(Shard& shard, std::shared_ptr<WsSession> s) {
  shard.to_flush.push_back(std::move(s));
  if (shard.flush_posted) return;
  shard.flush_posted = true;
  // Posted handlers run after every completion the loop already has in hand,
  // so all the frames this turn produced go out together.
  asio::post(shard.ioc, [&shard] {
    shard.flush_posted = false;
    std::swap(shard.to_flush, shard.flushing);
    for (auto& listed : shard.flushing) listed->flush();
    shard.flushing.clear();
  });
}

namespace {
template <class H>
auto take_stream(H&& s) {
  if constexpr (std::is_same_v<std::decay_t<H>, TcpStream>)
    return std::move(s).release_socket();
  else
    return std::move(s);
}

constexpr uint16_t kClosePayloadMax = 125;

// Allocates exactly what is asked for. Asio's default for an operation is a
// per-thread cache that hands out any cached block big enough, and a handler
// with std::allocator gets that default too; an idle connection's pending
// wait would then keep a block as big as the HTTP read's (~0.5 KB).
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>&) {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, size_t) { ::operator delete(p); }
  friend bool operator==(const ExactAllocator&, const ExactAllocator&) { return true; }
};

// Gives a string's heap block back (assigning an empty string keeps it).
void release(std::string& s) {
  std::string().swap(s);
}
}  // namespace

template <class H>
WsSessionT<H>::WsSessionT(Shard& shard, H&& stream, std::string remote, std::string client_ip,
                          std::string query_token)
    : WsSession(shard.index),
      shard_(shard),
      stream_(take_stream(std::move(stream))),
      reader_(shard.cfg->max_frame_bytes),
      client_ip_(std::move(client_ip)) {
  remote_ = std::move(remote);
  set_query_token(std::move(query_token));
}

template <class H>
WsSessionT<H>::~WsSessionT() {
  shard_.sessions.erase(this);
  shard_.admission->release(client_ip_);
}

template <class H>
Socket& WsSessionT<H>::socket() {
  if constexpr (kTls)
    return beast::get_lowest_layer(stream_).socket();
  else
    return stream_;
}

// ---- the opening handshake -------------------------------------------------

template <class H>
void WsSessionT<H>::run(const beast::http::request<beast::http::string_body>& req, std::string early) {
  auto answer = answer_upgrade(req);
  // The response is ~160 bytes on a fresh connection: the kernel takes it at
  // once. TLS keeps the upgrade stage's deadline for it.
  if constexpr (kTls)
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(shard_.cfg->upgrade_timeout_s));
  // On the heap, so that the buffer stays put while the handler that owns it moves.
  auto response = std::make_unique<std::string>(std::move(answer.response));
  const auto bytes = asio::buffer(*response);
  asio::async_write(stream_, bytes,
                    [self = self(), ok = answer.accepted, early = std::move(early),
                     response = std::move(response)](beast::error_code ec, size_t) mutable {
                      response.reset();
                      if constexpr (kTls) beast::get_lowest_layer(self->stream_).expires_never();
                      if (ec || !ok) {
                        beast::error_code ignored;
                        self->socket().shutdown(tcp::socket::shutdown_send, ignored);
                        self->socket().close(ignored);
                        return;  // nothing was registered
                      }
                      self->on_upgraded(std::move(early));
                    });
}

template <class H>
void WsSessionT<H>::on_upgraded(std::string early) {
  const auto now = Clock::now();
  last_rx_ = last_ping_ = now;
  hello_deadline_ = now + std::chrono::seconds(shard_.cfg->hello_timeout_s);
  shard_.sessions.insert(this);
  shard_.metrics->connections_opened.inc();
  if constexpr (!kTls) {
    beast::error_code ec;
    stream_.non_blocking(true, ec);  // reads and writes are tried at once and never block
    if (ec) return finish();
  }
  if (shard_.stopping)
    shutdown("shutdown");
  else if (shard_.draining)
    shutdown("draining", true);
  if (!early.empty()) rx_.append(early.data(), early.size());
  read_on();  // also after a shutdown: the closing handshake reads
}

// ---- input -------------------------------------------------------------------

template <class H>
void WsSessionT<H>::read_on() {
  if (finished_ || read_paused_ || read_pending_ || input_held_) return;
  if (!rx_.empty() && !tearing_down_ && !failed_ && !got_close_) {
    parse_held();  // frames left over from before a pause
    if (finished_ || read_paused_ || input_held_) return;
  }
  if constexpr (kTls) {
    read_tls();
  } else {
    char* scratch = shard_.scratch.get();
    for (int reads = 0;; ++reads) {
      if (reads == 4) {  // a client that keeps the socket full must not starve the loop's others
        read_pending_ = true;
        asio::post(shard_.ioc, [self = self()] {
          self->read_pending_ = false;
          self->read_on();
        });
        return;
      }
      beast::error_code ec;
      const size_t n = stream_.read_some(asio::buffer(scratch, Shard::kScratchBytes), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_readable();
      if (ec) return finish();  // the client's FIN, or a reset
      on_input(scratch, n, true);
      if (finished_ || read_paused_ || input_held_) return;
      // A short read emptied the socket: the next byte to arrive is a new
      // edge for the wait (the loop polls edge-triggered).
      if (n < Shard::kScratchBytes) return wait_readable();
    }
  }
}

template <class H>
void WsSessionT<H>::wait_readable() {
  if constexpr (!kTls) {
    read_pending_ = true;
    // The wait is what an idle connection holds: allocated at its own size.
    stream_.async_wait(tcp::socket::wait_read,
                       asio::bind_allocator(ExactAllocator<void>(), [self = self()](beast::error_code ec) {
                         self->read_pending_ = false;
                         if (ec) return self->finish();
                         self->read_on();
                       }));
  }
}

template <class H>
void WsSessionT<H>::read_tls() {
  if constexpr (kTls) {
    rx_.reserve_more(4096);
    read_pending_ = true;
    stream_.async_read_some(asio::buffer(rx_.end(), rx_.room()),
                            [self = self()](beast::error_code ec, size_t n) {
                              self->read_pending_ = false;
                              if (ec) return self->finish();
                              self->rx_.commit(n);
                              self->on_input(nullptr, n, false);
                              self->read_on();
                            });
  }
}

// `len` new bytes: in the shard's scratch at `data` (plain), or already appended to rx_ (TLS).
template <class H>
void WsSessionT<H>::on_input(char* data, size_t len, bool from_scratch) {
  last_rx_ = Clock::now();
  if (tearing_down_ || failed_ || got_close_) {  // read only to reach the client's FIN
    rx_.consume(rx_.size());
    rx_.release_if_empty();
    return;
  }
  if (from_scratch && rx_.empty()) {
    const size_t used = parse(data, len, Shard::kScratchBytes + Shard::kScratchPadding);
    if (used < len && !finished_) rx_.append(data + used, len - used);  // a frame still arriving, or paused
    return;
  }
  if (from_scratch) rx_.append(data, len);
  parse_held();
}

template <class H>
void WsSessionT<H>::parse_held() {
  const size_t used = parse(rx_.data(), rx_.size(), rx_.capacity() + PaddedBuffer::kPadding);
  rx_.consume(used);
  // An idle plain connection keeps no buffer; TLS keeps a small one for its next read.
  if (!kTls || rx_.capacity() > 16 * 1024) rx_.release_if_empty();
}

template <class H>
size_t WsSessionT<H>::parse(char* data, size_t len, size_t capacity) {
  const auto now = Clock::now();
  size_t off = 0;
  while (off < len && !finished_ && !read_paused_ && !tearing_down_ && !failed_ && !got_close_) {
    if (write_blocked_ && queued_bytes_ > kHoldInputBytes) {
      input_held_ = true;  // released by sent()
      return off;
    }
    size_t used = 0;
    ws::Event ev;
    switch (reader_.next(data + off, len - off, capacity - off, used, ev)) {
      case ws::FrameReader::Step::more: return off;
      case ws::FrameReader::Step::failed: fail(reader_.failure()); return len;
      case ws::FrameReader::Step::fragment: off += used; break;
      case ws::FrameReader::Step::event:
        off += used;
        if (!on_event(ev, now)) return off;
        break;
    }
  }
  return off;
}

template <class H>
bool WsSessionT<H>::on_event(const ws::Event& ev, Clock::time_point now) {
  switch (ev.kind) {
    case ws::Event::Kind::message: on_message(ev, now); return true;
    case ws::Event::Kind::ping:
      if (!close_queued_) push_control(Opcode::pong, std::string_view(ev.data, ev.len));
      return true;
    case ws::Event::Kind::pong: return true;
    case ws::Event::Kind::close: break;
  }
  got_close_ = true;
  peer_close_code_ = ev.close_code;
  close_at_once(ev.close_code, now);  // answered with the same code
  return false;                       // nothing may follow a close frame
}

template <class H>
void WsSessionT<H>::on_message(const ws::Event& ev, Clock::time_point now) {
  shard_.metrics->bytes_in.inc(ev.len);
  // Closing for a drain or shutdown (resumable), or because the session moved
  // to another node (4409), frames the client sent before it saw our close are
  // still handled: the session goes on, and what it answers waits in its
  // replay buffer (and stored log) for the resume.
  if (closing_ && !resumable_close_ && close_code_ != proto::close_code::resumed_elsewhere) return;
  if (!ev.text) return close(proto::close_code::bad_request, "binary frames are not accepted");
  if (!rate_ok(now, ev.len)) return;
  if (const Forward* f = fwd()) {  // a resumed session: its protocol state is on its home loop
    shard_.hub->forward_input(f->home, f->session, f->ticket, std::string(ev.data, ev.len), now);
    return;
  }
  proto::ClientMessage msg;
  proto::ParseError err;
  if (shard_.parser.parse(ev.data, ev.len, ev.capacity, msg, err))
    shard_.hub->handle(*this, msg, now);
  else
    shard_.hub->reject(*this, err);
}

// Per-connection token buckets on frames and bytes. A frame over the limit is
// dropped with `rate-limited`; a client that keeps flooding (close_after such
// frames within 10 s) is disconnected with 4429.
template <class H>
bool WsSessionT<H>::rate_ok(Clock::time_point now, size_t bytes) {
  const Config& cfg = *shard_.cfg;
  if (msg_rate_.take({cfg.max_msgs_per_s, cfg.msg_burst}, now) &&
      byte_rate_.take({cfg.max_bytes_per_s, cfg.bytes_burst}, now, static_cast<double>(bytes)))
    return true;
  Extra& x = extra();
  if (now - x.rate_window_start > kRateWindow) {
    x.rate_window_start = now;
    x.rate_limited = 0;
  }
  shard_.metrics->errors[static_cast<size_t>(proto::ErrorCode::rate_limited)].inc();
  send(proto::error({}, proto::ErrorCode::rate_limited, "too many messages; slow down"));
  if (cfg.rate_limit_close_after > 0 && ++x.rate_limited >= cfg.rate_limit_close_after)
    close(proto::close_code::rate_limited, "rate limit exceeded");
  return false;
}

// The reader found a broken frame: fail the connection (RFC 6455 7.1.7) with its code.
template <class H>
void WsSessionT<H>::fail(ws::Failure f) {
  if (failed_ || finished_) return;
  failed_ = true;
  if (!close_code_) close_code_ = static_cast<uint16_t>(f);
  close_at_once(static_cast<uint16_t>(f), Clock::now());
}

template <class H>
void WsSessionT<H>::close_at_once(uint16_t code, Clock::time_point now) {
  if (!closing_) {
    closing_ = true;
    extra().closing_since = now;
  }
  if (lingering_) {  // e.g. the client answered going-away with its close: no need to wait on
    lingering_ = false;
    if (extra_->linger) extra_->linger->cancel();
  }
  if (!close_queued_) {  // what was still queued is not read any more
    drop_unsent();
    queue_close(code, {});
  } else if (close_written_) {
    teardown();
  }
}

template <class H>
void WsSessionT<H>::resume_reading() {
  read_paused_ = false;
  if (extra_) extra_->paused_self.reset();
  // Posted, never inline: the caller may be inside on_message, mid-buffer.
  asio::post(shard_.ioc, [self = self()] { self->read_on(); });
}

template <class H>
void WsSessionT<H>::forward_to(uint32_t home, const SessionId& session, uint64_t ticket) {
  Extra& x = extra();
  x.fwd = Forward{home, session, ticket};
  read_paused_ = true;
  x.paused_self = self();  // no read is pending to keep this session alive meanwhile
}

template <class H>
void WsSessionT<H>::pause_input() {
  read_paused_ = true;
  extra().paused_self = self();
}

template <class H>
void WsSessionT<H>::resume_input() {
  if (read_paused_ && !finished_) resume_reading();
}

template <class H>
void WsSessionT<H>::attached() {
  resume_reading();
}

template <class H>
void WsSessionT<H>::refused() {
  if (extra_) extra_->fwd.reset();
  resume_reading();
}

// ---- output ------------------------------------------------------------------

template <class H>
void WsSessionT<H>::deliver(const routing::Body& body) {
  if (finished_) return;
  if (const Forward* f = fwd()) {  // the home loop stamps it
    shard_.hub->forward_deliver(f->home, f->session, f->ticket, body);
    return;
  }
  // Stamped and kept for replay even while closing: a session that may be
  // resumed must not lose a frame between the drop and its parking.
  const uint64_t seq = stamp(body);
  if (closing_) return;
  enqueue(body, seq);
}

template <class H>
void WsSessionT<H>::write(const routing::Body& body, uint64_t seq) {
  if (closing_ || finished_) return;
  enqueue(body, seq);
}

template <class H>
void WsSessionT<H>::enqueue(const routing::Body& body, uint64_t seq) {
  Out o;
  o.body = body;
  o.tail_len = static_cast<uint8_t>(proto::write_tail(o.tail, seq));
  o.head_len = static_cast<uint8_t>(ws::write_header(o.head, Opcode::text, body->size() + o.tail_len));
  push(std::move(o));
  if (shard_.cfg->max_queued_bytes && queued_bytes_ > shard_.cfg->max_queued_bytes) {
    spdlog::warn("closing slow reader peer={} remote={} queued_bytes={}", peer_id().str(), remote(),
                 queued_bytes_);
    drop_unsent();
    close(proto::close_code::slow_reader, "send queue full");
  }
}

template <class H>
void WsSessionT<H>::push(Out&& o) {
  queued_bytes_ += o.size();
  queue_.push_back(std::move(o));
  if (!flush_listed_ && !write_blocked_) {
    flush_listed_ = true;
    schedule_flush(shard_, shared_from_this());
  }
}

template <class H>
void WsSessionT<H>::push_control(Opcode op, std::string_view payload) {
  Out o;
  o.head_len = static_cast<uint8_t>(ws::write_header(o.head, op, payload.size()));
  if (payload.size() <= sizeof o.tail) {
    // An empty view may carry a null pointer, which memcpy must not be given even for 0 bytes.
    if (!payload.empty()) std::memcpy(o.tail, payload.data(), payload.size());
    o.tail_len = static_cast<uint8_t>(payload.size());
  } else {
    o.body = std::make_shared<const std::string>(payload);
  }
  push(std::move(o));
}

// Frames not yet begun are dropped; one partly written stays, or the stream would be cut mid-frame.
template <class H>
void WsSessionT<H>::drop_unsent() {
  const size_t keep = front_sent_ > 0 ? 1 : 0;
  queue_.truncate(keep);
  queued_bytes_ = keep ? queue_.front().size() : 0;
  if (!keep) ping_queued_ = false;
}

template <class H>
void WsSessionT<H>::flush() {
  flush_listed_ = false;
  if (finished_ || write_blocked_) return;
  if constexpr (kTls)
    write_tls();
  else
    write_plain();
}

// Writes the queue with gathered writes until it is empty or the kernel's
// buffer is full. Cost: one writev per 21 frames (Asio gathers at most 64 buffers).
template <class H>
void WsSessionT<H>::write_plain() {
  if constexpr (!kTls) {
    while (!queue_.empty()) {
      std::array<asio::const_buffer, 63> bufs;
      size_t nb = 0;
      size_t total = 0;
      size_t skip = front_sent_;
      auto add = [&](const char* p, size_t n) {
        if (skip >= n) {
          skip -= n;
          return;
        }
        bufs[nb++] = asio::const_buffer(p + skip, n - skip);
        total += n - skip;
        skip = 0;
      };
      for (auto it = queue_.begin(); it != queue_.end() && nb + 3 <= bufs.size(); ++it) {
        add(it->head, it->head_len);
        if (it->body) add(it->body->data(), it->body->size());
        add(it->tail, it->tail_len);
      }
      beast::error_code ec;
      const size_t n = stream_.write_some(std::span<const asio::const_buffer>(bufs.data(), nb), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) return on_write_error();
      sent(n);
      if (n < total) break;  // the kernel's buffer is full
    }
    if (!queue_.empty()) {  // wait until the client reads
      write_blocked_ = true;
      stream_.async_wait(tcp::socket::wait_write, [self = self()](beast::error_code ec) {
        self->write_blocked_ = false;
        if (self->finished_) return;
        if (ec) return self->on_write_error();
        self->write_plain();
      });
      return;
    }
    after_write();
  }
}

// TLS: the queue is copied into one buffer (OpenSSL copies it into records
// anyway) and written with one async_write at a time.
template <class H>
void WsSessionT<H>::write_tls() {
  if constexpr (kTls) {
    if (queue_.empty()) return after_write();
    tls_out_.clear();
    while (!queue_.empty() && tls_out_.size() < 64 * 1024) {
      const Out& o = queue_.front();
      tls_out_.append(o.head, o.head_len);
      if (o.body) tls_out_.append(*o.body);
      tls_out_.append(o.tail, o.tail_len);
      sent(o.size());
    }
    write_blocked_ = true;
    asio::async_write(stream_, asio::buffer(tls_out_), [self = self()](beast::error_code ec, size_t) {
      self->write_blocked_ = false;
      if (self->finished_) return;
      if (ec) return self->on_write_error();
      if (self->tls_out_.capacity() > 64 * 1024) release(self->tls_out_);
      self->write_tls();
    });
  }
}

// `bytes` of the queue's head went out: pops the frames that are complete.
template <class H>
void WsSessionT<H>::sent(size_t bytes) {
  while (bytes > 0 && !queue_.empty()) {
    const Out& f = queue_.front();
    const size_t left = f.size() - front_sent_;
    if (bytes < left) {
      front_sent_ += bytes;
      return;
    }
    bytes -= left;
    queued_bytes_ -= f.size();
    const auto op = static_cast<uint8_t>(f.head[0]) & 0x0F;
    if (op == static_cast<uint8_t>(Opcode::text)) shard_.metrics->bytes_out.inc(f.size() - f.head_len);
    if (op == static_cast<uint8_t>(Opcode::ping)) ping_queued_ = false;
    queue_.pop_front();
    front_sent_ = 0;
  }
  if (input_held_ && queued_bytes_ <= kHoldInputBytes / 2) {
    input_held_ = false;
    asio::post(shard_.ioc, [self = self()] { self->read_on(); });
  }
}

// The queue is empty and nothing is in flight.
template <class H>
void WsSessionT<H>::after_write() {
  if (close_queued_ && !close_written_) {
    close_written_ = true;
    // A failure, or the answer to the client's close: done. Our own close waits for the client's.
    if (got_close_ || failed_) teardown();
  }
}

template <class H>
void WsSessionT<H>::on_write_error() {
  queue_.clear();
  queued_bytes_ = 0;
  front_sent_ = 0;
  finish();
}

// Both close frames are out (or the connection failed): shut our sending side
// and read to the client's FIN (see the header), which finishes the session.
template <class H>
void WsSessionT<H>::teardown() {
  if (tearing_down_ || finished_) return;
  tearing_down_ = true;
  if constexpr (kTls) {
    finish();  // the client has our close frame; TLS has no half-close to wait on
  } else {
    beast::error_code ec;
    stream_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return finish();
    read_paused_ = false;
    input_held_ = false;
    if (extra_) extra_->paused_self.reset();
    read_on();
  }
}

template <class H>
void WsSessionT<H>::close(uint16_t code, std::string_view reason) {
  if (closing_ || finished_) return;
  closing_ = true;
  Extra& x = extra();
  x.closing_since = Clock::now();
  close_code_ = code;
  x.close_reason = std::string(utf8_prefix(reason, kClosePayloadMax - 2));
  resumable_close_ = code == proto::close_code::going_away || code == proto::close_code::heartbeat_timeout;
  if (code == proto::close_code::going_away && shard_.draining && (authenticated() || x.fwd)) {
    // A relay the client sends just before it sees going-away must be
    // answered, and a client that has our close frame may stop sending. So a
    // draining connection is read on for kDrainLinger first (frames handled,
    // answers kept for the resume); a client that closes at going-away, as
    // the SDK does, ends it sooner.
    lingering_ = true;
    x.linger = std::make_unique<asio::steady_timer>(shard_.ioc, kDrainLinger);
    x.linger->async_wait([self = self()](beast::error_code ec) {
      if (!ec) self->end_linger();
    });
    return;
  }
  if (read_paused_) resume_reading();  // the closing handshake needs a read
  send_close();
}

template <class H>
void WsSessionT<H>::end_linger() {
  if (!lingering_ || finished_) return;
  lingering_ = false;
  extra().closing_since = Clock::now();  // the close grace counts from our close frame
  if (read_paused_) resume_reading();
  send_close();
}

template <class H>
void WsSessionT<H>::send_close() {
  if (close_queued_ || finished_ || lingering_) return;
  queue_close(close_code_, extra_ ? std::string_view(extra_->close_reason) : std::string_view());
}

template <class H>
void WsSessionT<H>::queue_close(uint16_t code, std::string_view reason) {
  close_queued_ = true;
  std::string payload;
  if (code) {
    payload.reserve(2 + reason.size());
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code);
    payload += reason;
  }
  push_control(Opcode::close, payload);
}

template <class H>
std::function<void()> WsSessionT<H>::resumer(std::function<void(Session&)> fn) {
  std::weak_ptr<WsSessionT> weak = self();
  return [weak, &ioc = shard_.ioc, fn = std::move(fn)]() mutable {
    asio::post(ioc, [weak, fn = std::move(fn)] {
      auto s = weak.lock();
      // A session closing for a drain goes on (its answers wait for the resume).
      if (s && !s->finished_ && (!s->closing_ || s->lingering_)) fn(*s);
    });
  };
}

template <class H>
void WsSessionT<H>::finish() {
  if (finished_) return;
  finished_ = true;
  if (extra_ && extra_->linger) extra_->linger->cancel();
  // The close code: ours if we closed, else the client's close frame, else none (1006).
  uint16_t code = close_code_;
  if (!code) code = peer_close_code_;
  if (!code) code = got_close_ ? 1005 : 1006;  // a close frame without a status code, or none at all
  shard_.metrics->closed[close_code_index(code)].inc();
  // Resumable: the connection dropped, or we closed it for shutdown/drain or
  // a missed heartbeat. Not: the client said goodbye (1000, or a close frame
  // without a status: what a browser's ws.close() sends) or we closed it for a
  // policy reason (bad requests, token, rate, slow reader).
  const bool resumable = close_code_ ? resumable_close_ : (code != 1000 && code != 1005);
  if (const Forward* f = fwd())
    shard_.hub->transport_closed(f->home, f->session, f->ticket, resumable);
  else
    shard_.hub->disconnect(*this, resumable);
  shard_.sessions.erase(this);
  beast::error_code ignored;
  socket().close(ignored);  // pending waits complete with operation_aborted
  queue_.clear();
  rx_ = PaddedBuffer();
  if (extra_) extra_->paused_self.reset();  // callers hold their own reference
  if (shard_.stopping && shard_.sessions.empty() && !shard_.emptied) {
    shard_.emptied = true;
    shard_.on_empty();
  }
}

template <class H>
void WsSessionT<H>::tick(Clock::time_point now) {
  if (finished_) return;
  if (queue_.empty()) queue_.clear();  // gives the memory back: an idle connection keeps none
  if (closing_) {
    // A peer that stopped reading blocks the last write, and with it the
    // close handshake, forever. Past the grace period the connection is cut.
    if (!lingering_ && now - extra_->closing_since >= kCloseGrace) finish();
    return;
  }
  if (extra_) {
    if (extra_->drain_at != Clock::time_point{} && now >= extra_->drain_at) return shutdown("draining", true);
    if (extra_->unused(now)) extra_.reset();
  }
  if (!fwd()) {  // a resumed session's token is checked on its home loop (Hub::sweep)
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
  // A ping every heartbeat, whether or not the last one was answered; at most one is queued.
  if (!ping_queued_ && (silent || now - last_ping_ >= hb)) {
    ping_queued_ = true;
    last_ping_ = now;
    push_control(Opcode::ping, {});
  }
}

template <class H>
void WsSessionT<H>::shutdown(std::string_view reason, bool reconnect) {
  if (closing_ || finished_) return;
  auto notice = std::make_shared<const std::string>(proto::going_away(reason, reconnect));
  if (const Forward* f = fwd(); f && !read_paused_) {  // stamped on the home loop, which then closes us
    extra_->drain_at = {};
    shard_.hub->forward_end(f->home, f->session, f->ticket, std::move(notice), proto::close_code::going_away,
                            std::string(reason));
    return;
  }
  deliver(notice);
  close(proto::close_code::going_away, reason);
}

template class WsSessionT<TcpStream>;
template class WsSessionT<beast::ssl_stream<TcpStream>>;

}  // namespace sb::service
