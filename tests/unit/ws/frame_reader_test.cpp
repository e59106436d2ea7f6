#include "ws/frame_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws/frame_writer.h"

namespace sb::ws {
namespace {

constexpr unsigned char kKey[4] = {0x12, 0x34, 0x56, 0x78};

// A client frame: masked with kKey, its length in the shortest form unless `len_form` forces one.
std::string frame(uint8_t op, std::string_view payload, bool fin = true, bool masked = true,
                  int len_form = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | op);
  const uint8_t m = masked ? 0x80 : 0;
  const size_t n = payload.size();
  if ((n < 126 && len_form == 0) || len_form == 7) {
    f += static_cast<char>(m | n);
  } else if ((n <= 0xFFFF && len_form == 0) || len_form == 16) {
    f += static_cast<char>(m | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n);
  } else {
    f += static_cast<char>(m | 127);
    for (int i = 0; i < 8; ++i) f += static_cast<char>(static_cast<uint64_t>(n) >> (56 - 8 * i));
  }
  if (masked) f.append(reinterpret_cast<const char*>(kKey), 4);
  for (size_t i = 0; i < n; ++i) f += masked ? static_cast<char>(payload[i] ^ kKey[i & 3]) : payload[i];
  return f;
}

struct Fed {
  std::vector<Event> events;
  std::vector<std::string> payloads;
  size_t consumed = 0;
  FrameReader::Step last = FrameReader::Step::more;
};

// Feeds `bytes` (with padding after them) until the reader needs more or fails.
Fed feed(FrameReader& r, std::string bytes) {
  Fed out;
  const size_t len = bytes.size();
  bytes.resize(len + FrameReader::kPadding, '\0');
  while (out.consumed < len) {
    size_t used = 0;
    Event ev;
    out.last = r.next(bytes.data() + out.consumed, len - out.consumed, bytes.size() - out.consumed, used, ev);
    if (out.last == FrameReader::Step::more || out.last == FrameReader::Step::failed) break;
    out.consumed += used;
    if (out.last == FrameReader::Step::event) {
      out.events.push_back(ev);
      // A close frame's reason, like every payload, is a view into `bytes`: copied while it lives.
      out.payloads.push_back(ev.kind == Event::Kind::close ? std::string(ev.close_reason)
                                                           : std::string(ev.data, ev.len));
    }
  }
  return out;
}

TEST(FrameReader, TextFrameIsUnmaskedInPlaceWithItsPadding) {
  FrameReader r(1024);
  std::string bytes = frame(0x1, R"({"type":"ping"})");
  const size_t len = bytes.size();
  bytes.resize(len + 100);
  size_t used = 0;
  Event ev;
  ASSERT_EQ(r.next(bytes.data(), len, bytes.size(), used, ev), FrameReader::Step::event);
  EXPECT_EQ(used, len);
  EXPECT_EQ(ev.kind, Event::Kind::message);
  EXPECT_TRUE(ev.text);
  EXPECT_EQ(ev.data, bytes.data() + 6);  // in place: 2 bytes of header, 4 of key
  EXPECT_EQ(std::string(ev.data, ev.len), R"({"type":"ping"})");
  EXPECT_EQ(ev.capacity, bytes.size() - 6);
}

TEST(FrameReader, EveryLengthFormAndEveryCutPoint) {
  for (size_t n : {0, 1, 125, 126, 127, 1000, 65535, 65536, 70000}) {
    const std::string payload(n, 'x');
    const std::string f = frame(0x1, payload) + frame(0x9, "hi");
    for (size_t cut : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{9}, f.size() / 2, f.size() - 5}) {
      if (cut > f.size()) continue;
      FrameReader r(100000);
      Fed a = feed(r, f.substr(0, cut));
      // The first part never reports the message before it is complete.
      const size_t first = f.size() - 8;
      EXPECT_EQ(a.events.size(), cut >= first ? 1u : 0u) << n << " cut " << cut;
      Fed b = feed(r, f.substr(a.consumed));
      ASSERT_NE(b.last, FrameReader::Step::failed) << n;
      std::vector<std::string> all = a.payloads;
      all.insert(all.end(), b.payloads.begin(), b.payloads.end());
      ASSERT_EQ(all.size(), 2u) << n << " cut " << cut;
      EXPECT_EQ(all[0], payload);
      EXPECT_EQ(all[1], "hi");
    }
  }
}

TEST(FrameReader, ProtocolErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unmasked", frame(0x1, "{}", true, false)},
      {"rsv1", std::string(1, '\xC1') + frame(0x1, "{}").substr(1)},
      {"opcode 3", frame(0x3, "{}")},
      {"opcode 11", frame(0xB, "")},
      {"fragmented ping", frame(0x9, "", false)},
      {"ping of 126 bytes", frame(0x9, std::string(126, 'p'))},
      {"continuation of nothing", frame(0x0, "x")},
      {"text inside a fragmented text", frame(0x1, "a", false) + frame(0x1, "b")},
      {"16-bit length under 126", frame(0x1, "abc", true, true, 16)},
      {"64-bit length under 65536", frame(0x1, "abc", true, true, 64)},
      {"close with 1 byte", frame(0x8, "x")},
      {"close 1005", frame(0x8, std::string("\x03\xED", 2))},
      {"close 999", frame(0x8, std::string("\x03\xE7", 2))},
      {"close 5000", frame(0x8, std::string("\x13\x88", 2))},
  };
  for (const auto& [name, bytes] : cases) {
    FrameReader r(1 << 20);
    Fed f = feed(r, bytes);
    EXPECT_EQ(f.last, FrameReader::Step::failed) << name;
    EXPECT_EQ(r.failure(), Failure::protocol) << name;
    // Nothing is read after a failure.
    size_t used = 0;
    Event ev;
    std::string more = frame(0x1, "{}") + std::string(64, '\0');
    EXPECT_EQ(r.next(more.data(), more.size() - 64, more.size(), used, ev), FrameReader::Step::failed)
        << name;
  }
}

TEST(FrameReader, TooBigIsFoundAtTheHeader) {
  for (uint64_t declared : {uint64_t{1025}, uint64_t{1} << 31, uint64_t{1} << 53}) {
    FrameReader r(1024);
    std::string hdr = frame(0x1, std::string(declared > 70000 ? 0 : declared, 'z'));
    if (declared > 70000) {  // only the header and a few bytes: the payload never comes
      hdr = std::string("\x81\xFF", 2);
      for (int i = 0; i < 8; ++i) hdr += static_cast<char>(declared >> (56 - 8 * i));
      hdr +=
          "\x01\x02\x03\x04"
          "abc";
    } else {
      hdr = hdr.substr(0, 12);
    }
    Fed f = feed(r, hdr);
    EXPECT_EQ(f.last, FrameReader::Step::failed) << declared;
    EXPECT_EQ(r.failure(), Failure::too_big) << declared;
  }
  FrameReader exact(1024);
  EXPECT_EQ(feed(exact, frame(0x1, std::string(1024, 'a'))).events.size(), 1u);
  // Fragments add up.
  FrameReader r(1024);
  Fed f = feed(r, frame(0x1, std::string(600, 'a'), false) + frame(0x0, std::string(425, 'a'), false));
  EXPECT_EQ(r.failure(), Failure::too_big);
}

TEST(FrameReader, FragmentsAreAssembledAroundControlFrames) {
  FrameReader r(1 << 16);
  Fed f =
      feed(r, frame(0x1, "{\"a\":", false) + frame(0x9, "p") + frame(0x0, "12", false) + frame(0x0, "3}"));
  ASSERT_EQ(f.events.size(), 2u);
  EXPECT_EQ(f.events[0].kind, Event::Kind::ping);
  EXPECT_EQ(f.payloads[0], "p");
  EXPECT_EQ(f.events[1].kind, Event::Kind::message);
  EXPECT_EQ(f.payloads[1], "{\"a\":123}");
  EXPECT_GE(f.events[1].capacity, f.events[1].len + FrameReader::kPadding);
  EXPECT_FALSE(r.in_message());
  // Between fragments a message is under way.
  feed(r, frame(0x1, "{\"b\":", false));
  EXPECT_TRUE(r.in_message());
  Fed rest = feed(r, frame(0x0, "1}"));
  ASSERT_EQ(rest.events.size(), 1u);
  EXPECT_EQ(rest.payloads[0], "{\"b\":1}");
  EXPECT_FALSE(r.in_message());
  // Binary fragments are a binary message.
  Fed b = feed(r, frame(0x2, "ab", false) + frame(0x0, "cd"));
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_FALSE(b.events[0].text);
  EXPECT_EQ(b.payloads[0], "abcd");
}

// Every connection has a reader: the buffer of a fragmented message is out of
// line and exists only while one is under way, so an idle reader is small.
TEST(FrameReader, IdleReaderHoldsNoAssemblyBuffer) {
  EXPECT_LE(sizeof(FrameReader), 24u);
}

TEST(FrameReader, Utf8) {
  {
    FrameReader r(1024);
    feed(r, frame(0x1, "a\xC3\x28"));
    EXPECT_EQ(r.failure(), Failure::bad_payload);
  }
  {  // a character split across three fragments is fine
    FrameReader r(1024);
    Fed f = feed(r, frame(0x1, "x\xE2", false) + frame(0x0, "\x82", false) + frame(0x0, "\xAC!"));
    ASSERT_EQ(f.events.size(), 1u);
    EXPECT_EQ(f.payloads[0], "x\xE2\x82\xAC!");
  }
  {  // bad text in an early fragment fails there, before the message is over
    FrameReader r(1024);
    Fed f = feed(r, frame(0x1, "{\"\xFF", false) + frame(0x0, "aaaa", false));
    EXPECT_EQ(r.failure(), Failure::bad_payload);
  }
  {  // a cut character at the end of the message
    FrameReader r(1024);
    feed(r, frame(0x1, "ab", false) + frame(0x0, "\xE2\x82"));
    EXPECT_EQ(r.failure(), Failure::bad_payload);
  }
  {  // binary is not checked
    FrameReader r(1024);
    EXPECT_EQ(feed(r, frame(0x2, "\xFF\xFE")).events.size(), 1u);
  }
  {  // a close reason must be UTF-8
    FrameReader r(1024);
    feed(r, frame(0x8, std::string("\x03\xE8\xFF", 3)));
    EXPECT_EQ(r.failure(), Failure::bad_payload);
  }
}

TEST(FrameReader, Close) {
  FrameReader r(1024);
  Fed f = feed(r, frame(0x8, "") + frame(0x8, std::string("\x03\xE8", 2) + "bye") +
                      frame(0x8, std::string("\x0F\xA0", 2)));
  ASSERT_EQ(f.events.size(), 3u);
  EXPECT_EQ(f.events[0].kind, Event::Kind::close);
  EXPECT_EQ(f.events[0].close_code, 0);
  EXPECT_EQ(f.events[1].close_code, 1000);
  EXPECT_EQ(f.payloads[1], "bye");
  EXPECT_EQ(f.events[2].close_code, 4000);
}

TEST(FrameReader, UnmaskMatchesBytewise) {
  const unsigned char key[4] = {0xA1, 0x02, 0xFF, 0x30};
  for (size_t n = 0; n < 40; ++n) {
    std::string a(n, '\0');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>(i * 37 + 5);
    std::string b = a;
    unmask(b.data(), n, key);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(static_cast<char>(a[i] ^ key[i % 4]), b[i]) << n << " " << i;
  }
}

TEST(FrameWriter, HeaderForms) {
  char h[kMaxHeader];
  EXPECT_EQ(write_header(h, Opcode::text, 0), 2u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x81);
  EXPECT_EQ(h[1], 0);
  EXPECT_EQ(write_header(h, Opcode::close, 125), 2u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x88);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(write_header(h, Opcode::text, 126), 4u);
  EXPECT_EQ(static_cast<unsigned char>(h[1]), 126);
  EXPECT_EQ(static_cast<unsigned char>(h[2]), 0);
  EXPECT_EQ(static_cast<unsigned char>(h[3]), 126);
  EXPECT_EQ(write_header(h, Opcode::text, 65535), 4u);
  EXPECT_EQ(write_header(h, Opcode::text, 65536), 10u);
  EXPECT_EQ(static_cast<unsigned char>(h[1]), 127);
  EXPECT_EQ(static_cast<unsigned char>(h[7]), 1);  // 65536 = 0x10000
  EXPECT_EQ(static_cast<unsigned char>(h[8]), 0);
}

}  // namespace
}  // namespace sb::ws
