#include "ws/frame_reader.h"

#include <simdjson.h>

#include <cstring>

namespace sb::ws {

namespace {

bool utf8_ok(const char* p, size_t n) {
  return n == 0 || simdjson::validate_utf8(p, n);
}

uint64_t load_be(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Where the last character of [p, p + n) would end if it is cut short: n, or
// the start of a sequence whose lead byte asks for more bytes than are there.
// O(1): looks back at most 3 bytes.
size_t complete_prefix(const char* p, size_t n) {
  for (size_t i = 1; i <= 3 && i <= n; ++i) {
    const auto b = static_cast<unsigned char>(p[n - i]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    if (b < 0xC0) return n;            // ASCII
    const size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    return need > i ? n - i : n;
  }
  return n;
}

}  // namespace

void unmask(char* p, size_t len, const unsigned char key[4]) {
  uint32_t k4;
  std::memcpy(&k4, key, 4);
  const uint64_t k8 = (static_cast<uint64_t>(k4) << 32) | k4;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k8;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < len; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 3]);
}

bool valid_close_code(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  // 1004 is reserved; 1005 and 1006 must never be sent in a frame.
  return code != 1004 && code != 1005 && code != 1006;
}

FrameReader::Step FrameReader::next(char* data, size_t len, size_t capacity, size_t& used, Event& ev) {
  if (failure_ != Failure::none) return Step::failed;
  if (release_) {  // the assembled message was handled: give its buffer back
    release_ = false;
    assembly_.reset();
  }
  if (len < 2) return Step::more;
  const auto b0 = static_cast<unsigned char>(data[0]);
  const auto b1 = static_cast<unsigned char>(data[1]);
  const bool fin = b0 & 0x80;
  const unsigned op = b0 & 0x0F;
  if (b0 & 0x70) return fail(Failure::protocol);     // RSV bits: no extension was negotiated
  if (!(b1 & 0x80)) return fail(Failure::protocol);  // a client's frames must be masked
  uint64_t plen = b1 & 0x7F;
  size_t head = 2;
  if (plen == 126) {
    if (len < 4) return Step::more;
    plen = load_be(data + 2, 2);
    head = 4;
    if (plen < 126) return fail(Failure::protocol);  // the shortest length form is a must (5.2)
  } else if (plen == 127) {
    if (len < 10) return Step::more;
    plen = load_be(data + 2, 8);
    head = 10;
    if (plen >> 63) return fail(Failure::protocol);
    if (plen < 65536) return fail(Failure::protocol);
  }
  const bool control = op & 0x8;
  if (control) {
    if (op != 0x8 && op != 0x9 && op != 0xA) return fail(Failure::protocol);
    if (!fin || plen > 125) return fail(Failure::protocol);  // 5.5: not fragmented, at most 125 bytes
  } else {
    if (op > 0x2) return fail(Failure::protocol);
    if (op == 0x0 && !assembly_) return fail(Failure::protocol);  // a continuation of nothing
    if (op != 0x0 && assembly_) return fail(Failure::protocol);   // a new message inside one
    // The size is known from the header: refuse before the payload is waited for.
    const uint64_t so_far = op == 0x0 ? assembly_->bytes.size() : 0;
    if (plen > max_ || so_far + plen > max_) return fail(Failure::too_big);
  }
  const size_t frame = head + 4 + static_cast<size_t>(plen);
  if (len < frame) return Step::more;
  char* payload = data + head + 4;
  const size_t n = static_cast<size_t>(plen);
  unmask(payload, n, reinterpret_cast<const unsigned char*>(data + head));
  used = frame;
  ev = Event{};

  if (control) {
    ev.data = payload;
    ev.len = n;
    if (op == 0x9) {
      ev.kind = Event::Kind::ping;
    } else if (op == 0xA) {
      ev.kind = Event::Kind::pong;
    } else {
      ev.kind = Event::Kind::close;
      if (n == 1) return fail(Failure::protocol);
      if (n >= 2) {
        ev.close_code = static_cast<uint16_t>(load_be(payload, 2));
        if (!valid_close_code(ev.close_code)) return fail(Failure::protocol);
        if (!utf8_ok(payload + 2, n - 2)) return fail(Failure::bad_payload);
        ev.close_reason = std::string_view(payload + 2, n - 2);
      }
    }
    return Step::event;
  }

  if (op != 0x0 && fin) {  // a whole message in one frame: reported where it lies
    if (op == 0x1 && !utf8_ok(payload, n)) return fail(Failure::bad_payload);
    ev.kind = Event::Kind::message;
    ev.text = op == 0x1;
    ev.data = payload;
    ev.len = n;
    ev.capacity = capacity - static_cast<size_t>(payload - data);
    return Step::event;
  }
  if (op != 0x0) {  // the first fragment
    assembly_ = std::make_unique<Assembly>();
    assembly_->text = op == 0x1;
  }
  Assembly& a = *assembly_;
  // The padding is reserved with every append, so the message never moves to gain it at the end.
  a.bytes.reserve(a.bytes.size() + n + kPadding);
  a.bytes.append(payload, n);
  // Text is checked fragment by fragment (but for a character cut at the end), so a message that
  // goes wrong early fails at once with 1007 rather than later with 1009.
  const size_t upto = fin ? a.bytes.size() : complete_prefix(a.bytes.data(), a.bytes.size());
  if (a.text && upto > a.checked) {
    if (!utf8_ok(a.bytes.data() + a.checked, upto - a.checked)) return fail(Failure::bad_payload);
    a.checked = upto;
  }
  if (!fin) return Step::fragment;
  release_ = true;
  ev.kind = Event::Kind::message;
  ev.text = a.text;
  ev.data = a.bytes.data();
  ev.len = a.bytes.size();
  ev.capacity = a.bytes.capacity();
  return Step::event;
}

}  // namespace sb::ws
