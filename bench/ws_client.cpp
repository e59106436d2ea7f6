#include "ws_client.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <random>

namespace sb::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// At most this many reads per readiness event before yielding to the other
// connections of the thread (one busy connection must not starve the rest).
constexpr int kReadsPerEvent = 4;
// Above this, a write buffer that grew during a burst is given back.
constexpr size_t kKeepOutCapacity = 64 * 1024;

uint32_t random_mask() {
  thread_local std::mt19937 rng{std::random_device{}()};
  uint32_t m = 0;
  while (m == 0) m = static_cast<uint32_t>(rng());
  return m;
}

// dst = src XOR mask, the mask repeating from dst[0] (RFC 6455 §5.3).
void mask_copy(char* dst, const char* src, size_t n, uint32_t mask) {
  uint64_t m8 = 0;
  std::memcpy(&m8, &mask, 4);
  std::memcpy(reinterpret_cast<char*>(&m8) + 4, &mask, 4);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, src + i, 8);
    w ^= m8;
    std::memcpy(dst + i, &w, 8);
  }
  const auto* mb = reinterpret_cast<const unsigned char*>(&mask);
  for (; i < n; ++i) dst[i] = static_cast<char>(src[i] ^ static_cast<char>(mb[i % 4]));
}

uint64_t read_be(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

WsClient::WsClient(asio::io_context& io, Handler& h, std::vector<char>& scratch, uint32_t tag)
    : io_(io), sock_(io), handler_(h), scratch_(scratch), mask_(random_mask()), tag_(tag) {}

void WsClient::start(const tcp::endpoint& server, const asio::ip::address_v4& source,
                     const std::string& upgrade_request) {
  boost::system::error_code ec;
  sock_.open(tcp::v4(), ec);
  if (ec) return fail("socket: " + ec.message());
  // Defer the port choice to connect(): ports are then unique per 4-tuple, not
  // per source address, and each 127.0.0.x source gives a full ephemeral range.
  int one = 1;
  ::setsockopt(sock_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sock_.bind(tcp::endpoint(source, 0), ec);
  if (ec) return fail("bind: " + ec.message());
  out_ = upgrade_request;
  sock_.async_connect(
      server, [self = shared_from_this()](const boost::system::error_code& e) { self->on_connected(e); });
}

void WsClient::on_connected(const boost::system::error_code& ec) {
  if (state_ == State::closed) return;
  if (ec) return fail("connect: " + ec.message());
  boost::system::error_code ignored;
  sock_.set_option(tcp::no_delay(true), ignored);
  sock_.non_blocking(true, ignored);
  state_ = State::upgrading;
  flush();
  wait_readable();
}

void WsClient::wait_readable() {
  sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (self->state_ == State::closed) return;
    if (ec) return self->fail("wait: " + ec.message());
    self->on_readable();
  });
}

void WsClient::on_readable() {
  // Asio's epoll reactor is edge-triggered: read until EAGAIN before waiting
  // again, or post a continuation when the per-event budget runs out.
  for (int i = 0; i < kReadsPerEvent; ++i) {
    boost::system::error_code ec;
    const size_t n = sock_.read_some(asio::buffer(scratch_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_readable();
    if (ec) return fail(ec == asio::error::eof ? "closed by server (EOF)" : "read: " + ec.message());
    consume(scratch_.data(), n);
    if (state_ == State::closed) return;
  }
  asio::post(io_, [self = shared_from_this()] {
    if (self->state_ != State::closed) self->on_readable();
  });
}

void WsClient::consume(const char* data, size_t n) {
  if (state_ == State::upgrading) {
    in_.append(data, n);
    const size_t end = in_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (in_.size() > 16 * 1024) fail("upgrade: response header too large");
      return;
    }
    if (in_.compare(0, 12, "HTTP/1.1 101") != 0)
      return fail("upgrade refused: " + in_.substr(0, in_.find('\r')));
    state_ = State::open;
    std::string rest = in_.substr(end + 4);
    in_.clear();
    in_.shrink_to_fit();
    handler_.on_open(*this);
    if (state_ == State::closed || rest.empty()) return;
    const size_t used = parse_frames(rest.data(), rest.size());
    if (state_ != State::closed && used < rest.size()) in_.assign(rest, used);
    return;
  }
  if (!in_.empty()) {
    in_.append(data, n);
    const size_t used = parse_frames(in_.data(), in_.size());
    if (state_ == State::closed) return;
    in_.erase(0, used);
    if (in_.empty()) in_.shrink_to_fit();  // a big frame must not pin a big buffer
    return;
  }
  const size_t used = parse_frames(data, n);
  if (state_ != State::closed && used < n) in_.assign(data + used, n - used);
}

size_t WsClient::parse_frames(const char* data, size_t n) {
  size_t pos = 0;
  while (state_ != State::closed && n - pos >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(data + pos);
    const bool fin = p[0] & 0x80;
    const uint8_t opcode = p[0] & 0x0f;
    if (p[1] & 0x80) {
      fail("protocol: masked frame from server");
      return pos;
    }
    uint64_t len = p[1] & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (n - pos < 4) break;
      len = read_be(p + 2, 2);
      header = 4;
    } else if (len == 127) {
      if (n - pos < 10) break;
      len = read_be(p + 2, 8);
      header = 10;
    }
    if (n - pos - header < len) break;
    const std::string_view payload(data + pos + header, static_cast<size_t>(len));
    pos += header + static_cast<size_t>(len);
    switch (opcode) {
      case 0x1:  // text
        if (fin) {
          handler_.on_text(*this, payload);
        } else {
          msg_.assign(payload);
        }
        break;
      case 0x0:  // continuation
        msg_.append(payload);
        if (fin) {
          std::string whole;
          whole.swap(msg_);
          handler_.on_text(*this, whole);
        }
        break;
      case 0x9:  // ping: answer at once, as browsers do
        append_frame(0xA, payload);
        schedule_flush();
        break;
      case 0xA:  // pong
        break;
      case 0x8: {  // close
        const uint16_t code = payload.size() >= 2 ? static_cast<uint16_t>(read_be(p + header, 2)) : 1005;
        fail("closed by server", code);
        return pos;
      }
      default: fail("protocol: unexpected opcode " + std::to_string(opcode)); return pos;
    }
  }
  return pos;
}

void WsClient::append_frame(uint8_t opcode, std::string_view payload) {
  unsigned char h[14];
  size_t hl = 0;
  const size_t n = payload.size();
  h[hl++] = static_cast<unsigned char>(0x80 | opcode);
  if (n < 126) {
    h[hl++] = static_cast<unsigned char>(0x80 | n);
  } else if (n <= 0xffff) {
    h[hl++] = 0x80 | 126;
    h[hl++] = static_cast<unsigned char>(n >> 8);
    h[hl++] = static_cast<unsigned char>(n);
  } else {
    h[hl++] = 0x80 | 127;
    for (int i = 7; i >= 0; --i) h[hl++] = static_cast<unsigned char>(static_cast<uint64_t>(n) >> (8 * i));
  }
  std::memcpy(h + hl, &mask_, 4);
  hl += 4;
  const size_t at = out_.size();
  out_.resize(at + hl + n);
  std::memcpy(out_.data() + at, h, hl);
  mask_copy(out_.data() + at + hl, payload.data(), n, mask_);
}

void WsClient::send_text(std::string_view payload) {
  if (state_ != State::open) return;
  append_frame(0x1, payload);
  schedule_flush();
}

void WsClient::schedule_flush() {
  if (flush_posted_ || write_waiting_) return;
  flush_posted_ = true;
  asio::post(io_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    if (self->state_ != State::closed) self->flush();
  });
}

void WsClient::flush() {
  size_t off = 0;
  while (off < out_.size()) {
    boost::system::error_code ec;
    const size_t n = sock_.write_some(asio::buffer(out_.data() + off, out_.size() - off), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // The server is not reading fast enough: wait for room, keep the rest.
      out_.erase(0, off);
      write_waiting_ = true;
      sock_.async_wait(tcp::socket::wait_write,
                       [self = shared_from_this()](const boost::system::error_code& e) {
                         self->write_waiting_ = false;
                         if (self->state_ == State::closed) return;
                         if (e) return self->fail("wait: " + e.message());
                         self->flush();
                       });
      return;
    }
    if (ec) return fail("write: " + ec.message());
    off += n;
  }
  out_.clear();
  if (out_.capacity() > kKeepOutCapacity) out_.shrink_to_fit();
}

void WsClient::abort() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  boost::system::error_code ignored;
  if (sock_.is_open()) {
    sock_.set_option(asio::socket_base::linger(true, 0), ignored);
    sock_.close(ignored);
  }
}

void WsClient::fail(std::string_view why, uint16_t close_code) {
  if (state_ == State::closed) return;
  abort();
  handler_.on_closed(*this, why, close_code);
}

}  // namespace sb::bench
