// fuzz/fuzz_ws_frame.cpp — libFuzzer target for the WebSocket frame reader
// (ws::FrameReader), which meets every byte a client sends.
//
// The input's first byte picks the message size limit and a chunk size; the
// rest is the client's byte stream. It is read twice, as the server reads it:
// once whole, and once arriving in chunks, where what the reader did not use
// is kept and offered again with the next chunk (each time in a fresh,
// exactly padded heap buffer, so ASan sees a read past the padding). Both
// readings must report the same events with the same payloads and end the same
// way (the same failure, or none). Every event must keep the rules the reader
// enforces, checked here independently: a message is no longer than the
// limit and has its padding, a text message is UTF-8 to sb::utf8_valid (a
// second implementation), a control payload is at most 125 bytes, a close
// code is absent or one a close frame may carry, and its reason is UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "ws/frame_reader.h"

namespace {

using sb::ws::Event;
using sb::ws::FrameReader;

struct Seen {
  std::vector<std::string> events;  // kind, flags and payload, flattened
  sb::ws::Failure failure = sb::ws::Failure::none;
};

void check(bool ok) {
  if (!ok) std::abort();
}

void record(const Event& ev, size_t limit, Seen& out) {
  std::string e(1, static_cast<char>(ev.kind));
  e += ev.text ? 'T' : 'B';
  switch (ev.kind) {
    case Event::Kind::message: {
      check(ev.len <= limit);
      check(ev.capacity >= ev.len + FrameReader::kPadding);
      // Touch the last padding byte: ASan reports it if the promise is false.
      volatile char last = ev.data[ev.capacity - 1];
      (void)last;
      if (ev.text) check(sb::utf8_valid(std::string_view(ev.data, ev.len)));
      e.append(ev.data, ev.len);
      break;
    }
    case Event::Kind::ping:
    case Event::Kind::pong:
      check(ev.len <= 125);
      e.append(ev.data, ev.len);
      break;
    case Event::Kind::close:
      check(ev.close_code == 0 || sb::ws::valid_close_code(ev.close_code));
      check(sb::utf8_valid(ev.close_reason));
      e += std::to_string(ev.close_code);
      e.append(ev.close_reason);
      break;
  }
  out.events.push_back(std::move(e));
}

// Parses [bytes, bytes + n) into a fresh padded buffer; returns the bytes used.
size_t parse(FrameReader& r, const std::string& bytes, size_t limit, Seen& out, bool& stop) {
  const size_t cap = bytes.size() + FrameReader::kPadding;
  auto buf = std::make_unique<char[]>(cap);
  std::memcpy(buf.get(), bytes.data(), bytes.size());
  size_t off = 0;
  while (off < bytes.size()) {
    size_t used = 0;
    Event ev;
    const auto step = r.next(buf.get() + off, bytes.size() - off, cap - off, used, ev);
    if (step == FrameReader::Step::more) break;
    if (step == FrameReader::Step::failed) {
      out.failure = r.failure();
      stop = true;
      return bytes.size();
    }
    check(used > 0 && used <= bytes.size() - off);
    off += used;
    if (step == FrameReader::Step::event) record(ev, limit, out);
  }
  return off;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t limit = (data[0] & 0x0F) * 97 + 1;      // 1 .. 1456 bytes
  const size_t chunk = ((data[0] >> 4) & 0x0F) * 3 + 1;  // 1 .. 46 bytes
  const std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);

  Seen whole;
  {
    FrameReader r(limit);
    bool stop = false;
    parse(r, stream, limit, whole, stop);
  }
  Seen chunked;
  {
    FrameReader r(limit);
    std::string held;
    bool stop = false;
    for (size_t at = 0; at < stream.size() && !stop; at += chunk) {
      held.append(stream, at, chunk);
      held.erase(0, parse(r, held, limit, chunked, stop));
    }
  }
  check(whole.failure == chunked.failure);
  check(whole.events == chunked.events);
  return 0;
}
