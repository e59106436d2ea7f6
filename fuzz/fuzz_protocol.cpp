// fuzz/fuzz_protocol.cpp — libFuzzer target for the client frame parser, the
// server frame encoders and the relay-value validator.
//
// Each input is one client frame. It is parsed twice, through the
// std::string_view overload (zero padding) and through the padded-buffer
// overload (an exactly sized heap buffer whose padding holds junk, so ASan sees
// any read past the padding and a difference shows a read into it); both must
// agree. A frame that parses must be JSON to Boost.JSON, an independent parser.
// Then every encoder is run on what came back, and each produced frame (after
// close_frame) must be JSON with its fields holding exactly what went in; the
// relay frame must carry `data` byte for byte. A frame that does not parse
// gives an error frame (it echoes the raw `id`) that must be JSON too. Finally
// proto::json_valid is checked against Boost.JSON on the whole input.
//
// Boost.JSON is stricter than the JSON grammar (RFC 8259) in exactly two
// places, and both are neutralised explicitly rather than by ignoring
// mismatches:
//  - a `\uXXXX` escape of a lone UTF-16 surrogate (D800-DFFF) is grammatical but
//    refused by Boost: every such escape is rewritten to `\u0041` first, which
//    keeps the text's grammatical validity (see neutralize_surrogates);
//  - an exponent too large for Boost's int (`1e99999999999`) is refused with
//    error::exponent_overflow (1e400 itself parses, as infinity): Boost stops
//    inside the exponent's digits, which are replaced by `1` and the parse is
//    retried. If Boost stops anywhere but in an exponent, that is a mismatch.
// Anything else Boost and json_valid disagree on aborts. Values are compared
// with NaN equal to NaN: Boost reads 0e400 as 0 * inf.
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/json_text.h"
#include "proto/encode.h"
#include "proto/json_validate.h"
#include "proto/message.h"
#include "proto/parser.h"
#include "rtc/room_directory.h"

namespace {

namespace json = boost::json;
using namespace sb;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_protocol: invariant violated: %s\n", what);
  if (!detail.empty())
    std::fprintf(stderr, "  detail (%zu bytes): %.*s\n", detail.size(),
                 static_cast<int>(std::min<size_t>(detail.size(), 4000)), detail.data());
  std::abort();
}

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Rewrites every `\uD800`-`\uDFFF` escape to `\u0041`. Backslashes are taken in
// pairs from the start, which inside strings is exactly how escapes are read;
// outside strings a backslash makes the text invalid whatever follows it. So
// the rewrite never changes whether the text is grammatical JSON.
std::string neutralize_surrogates(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] != '\\') continue;
    if (out[i + 1] == 'u' && i + 5 < out.size() && is_hex(out[i + 2]) && is_hex(out[i + 3]) &&
        is_hex(out[i + 4]) && is_hex(out[i + 5]) && (out[i + 2] == 'd' || out[i + 2] == 'D') &&
        std::strchr("89abcdefABCDEF", out[i + 3]) != nullptr) {
      out.replace(i + 2, 4, "0041");
    }
    ++i;  // the escaped character
  }
  return out;
}

enum class Verdict { valid, invalid, undetermined };

struct Oracle {
  Verdict verdict = Verdict::invalid;
  json::value value;
};

// Boost.JSON's opinion on `text`, with the two asymmetries above neutralised.
// `strict_utf8`: server frames must be UTF-8 (a browser fails the connection
// otherwise); json_valid leaves UTF-8 to simdjson, so it is compared with
// invalid UTF-8 allowed. Undetermined only after 32 exponent rewrites.
Oracle boost_parse(std::string_view text, size_t max_depth, bool strict_utf8) {
  std::string t = neutralize_surrogates(text);
  json::parse_options opt;
  opt.max_depth = max_depth;
  opt.allow_invalid_utf8 = !strict_utf8;
  for (int round = 0; round < 32; ++round) {
    json::stream_parser p({}, opt);
    boost::system::error_code ec;
    const size_t n = p.write(t.data(), t.size(), ec);
    if (!ec) p.finish(ec);
    if (!ec) return {Verdict::valid, p.release()};
    if (ec != json::error::exponent_overflow) return {Verdict::invalid, {}};
    // Boost stopped inside the digits of an exponent: [eE][+-]?digits.
    size_t b = std::min(n, t.size());
    while (b > 0 && is_digit(t[b - 1])) --b;
    size_t sign = b;
    if (sign > 0 && (t[sign - 1] == '+' || t[sign - 1] == '-')) --sign;
    check(b < t.size() && is_digit(t[b]) && sign > 0 && (t[sign - 1] == 'e' || t[sign - 1] == 'E'),
          "Boost.JSON reported exponent_overflow outside an exponent", text);
    size_t e = b;
    while (e < t.size() && is_digit(t[e])) ++e;
    t.replace(b, e - b, "1");
  }
  return {Verdict::undetermined, {}};
}

// The Boost value of `text`, which must be JSON (a frame we produced, or a
// value the parser handed out for relaying).
json::value must_parse(std::string_view text, const char* what) {
  Oracle o = boost_parse(text, 256, true);
  check(o.verdict != Verdict::invalid, what, text);
  return std::move(o.value);
}

// Value equality where NaN equals NaN: Boost 1.81 reads 0e400 as 0*inf = NaN.
bool same_value(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double() && std::isnan(a.get_double()) && std::isnan(b.get_double())) return true;
  if (a.kind() != b.kind()) return a == b;  // int64 vs uint64 of equal value compare equal
  if (const json::array* x = a.if_array()) {
    const json::array& y = b.get_array();
    if (x->size() != y.size()) return false;
    for (size_t i = 0; i < x->size(); ++i)
      if (!same_value((*x)[i], y[i])) return false;
    return true;
  }
  if (const json::object* x = a.if_object()) {
    const json::object& y = b.get_object();
    if (x->size() != y.size()) return false;
    for (const auto& kv : *x) {
      const json::value* w = y.if_contains(kv.key());
      if (w == nullptr || !same_value(kv.value(), *w)) return false;
    }
    return true;
  }
  return a == b;
}

bool within(std::string_view v, const char* base, size_t len) {
  return v.empty() || (v.data() >= base && v.data() + v.size() <= base + len);
}

std::string_view str_of(const json::value& v) {
  const json::string* s = v.if_string();
  check(s != nullptr, "field is not a string", json::serialize(v));
  return std::string_view(s->data(), s->size());
}

const json::value& field_of(const json::value& frame, std::string_view key) {
  const json::object* o = frame.if_object();
  check(o != nullptr, "frame is not an object", json::serialize(frame));
  const json::value* v = o->if_contains(key);
  check(v != nullptr, "frame lacks a field", key);
  return *v;
}

// Closes `body` with a seq and checks the frame: JSON, an object of `type`,
// `seq` as given, `id` (when one was given) the same JSON value as the raw id.
json::value check_frame(std::string body, std::string_view type, std::string_view id, uint64_t seq) {
  proto::close_frame(body, seq);
  json::value frame = must_parse(body, "encoded frame is not JSON");
  check(str_of(field_of(frame, "type")) == type, "frame has the wrong type", body);
  const json::value& s = field_of(frame, "seq");
  check(s.is_uint64() ? s.get_uint64() == seq : s.is_int64() && static_cast<uint64_t>(s.get_int64()) == seq,
        "frame has the wrong seq", body);
  if (!id.empty())
    check(same_value(field_of(frame, "id"), must_parse(id, "id is not JSON")), "frame has the wrong id",
          body);
  return frame;
}

struct Parsed {
  bool ok = false;
  proto::ClientMessage msg;
  proto::ParseError err;
};

void check_same(const Parsed& a, const Parsed& b, std::string_view frame) {
  check(a.ok == b.ok, "the two parse overloads disagree on success", frame);
  if (!a.ok) {
    check(a.err.code == b.err.code && a.err.message == b.err.message && a.err.id == b.err.id,
          "the two parse overloads disagree on the error", frame);
    return;
  }
  const auto& x = a.msg;
  const auto& y = b.msg;
  check(x.type == y.type && x.id == y.id && x.token == y.token && x.room == y.room && x.to == y.to &&
            x.data == y.data && x.metadata == y.metadata && x.has_resume == y.has_resume,
        "the two parse overloads disagree on the message", frame);
}

void check_encoders(const proto::ClientMessage& m, uint64_t seq) {
  // Room names are validated by the parser for the types that need one.
  const RoomId room(m.room.empty() ? std::string_view("r") : m.room);
  const PeerId peer(m.to.empty() ? std::string_view("peer-1") : m.to);

  if (proto::is_relay(m.type)) {
    check(!m.data.empty(), "relay message without data");
    const std::string body = proto::relay(m.type, room, peer, m.data);
    std::string prefix = "{\"type\":\"";
    prefix.append(proto::to_string(m.type)).append("\",\"room\":");
    prefix += json_quote(room.str());
    prefix += ",\"from\":";
    prefix += json_quote(peer.str());
    prefix += ",\"data\":";
    check(body == prefix + std::string(m.data), "relay frame is not prefix + data verbatim", body);
    const json::value frame = check_frame(body, proto::to_string(m.type), {}, seq);
    check(str_of(field_of(frame, "room")) == room.str(), "relay frame: room changed", body);
    check(str_of(field_of(frame, "from")) == peer.str(), "relay frame: from changed", body);
    check(same_value(field_of(frame, "data"), must_parse(m.data, "relayed data is not JSON")),
          "relay frame: data is not the value sent", body);
  }

  check_frame(proto::ack(m.id), "ack", m.id, seq);
  check_frame(proto::pong(m.id), "pong", m.id, seq);
  {
    const json::value f =
        check_frame(proto::error(m.id, proto::ErrorCode::bad_request, m.token), "error", m.id, seq);
    check(str_of(field_of(f, "message")) == m.token, "error frame: message changed", m.token);
  }
  {
    proto::Welcome w;
    w.id = m.id;
    w.session = SessionId(m.room);
    w.peer = peer;
    w.user = UserId(m.token);
    w.name = m.to;
    w.heartbeat_s = static_cast<unsigned>(seq);
    if (!m.data.empty()) w.ice_servers_json = m.data;
    const json::value f = check_frame(proto::welcome(w), "welcome", m.id, seq);
    check(str_of(field_of(f, "user")) == m.token, "welcome frame: user changed", m.token);
    check(str_of(field_of(f, "peer")) == peer.str(), "welcome frame: peer changed", m.to);
  }

  rtc::Member member;
  member.peer = peer;
  member.user = UserId(m.token);
  member.name = std::string(m.token);
  member.metadata = std::string(m.metadata);
  {
    const std::vector<const rtc::Member*> others{&member, &member};
    const json::value f = check_frame(proto::joined(m.id, room, others), "joined", m.id, seq);
    const json::array* peers = field_of(f, "peers").if_array();
    check(peers != nullptr && peers->size() == 2, "joined frame: peers is not a 2-array");
    const json::value& p0 = (*peers)[0];
    check(str_of(field_of(p0, "user")) == m.token, "joined frame: user changed", m.token);
    if (!m.metadata.empty())
      check(same_value(field_of(p0, "metadata"), must_parse(m.metadata, "metadata is not JSON")),
            "joined frame: metadata is not the value sent", m.metadata);
  }
  check_frame(proto::peer_joined(room, member), "peer-joined", {}, seq);
  check_frame(proto::peer_updated(room, member), "peer-updated", {}, seq);
  {
    const json::value f = check_frame(proto::peer_left(room, peer, m.token), "peer-left", {}, seq);
    check(str_of(field_of(f, "reason")) == m.token, "peer-left frame: reason changed", m.token);
  }
  check_frame(proto::going_away(m.token), "going-away", {}, seq);
}

// json_valid against Boost.JSON on arbitrary text, at a depth limit.
void check_json_valid(std::string_view text, size_t depth) {
  const bool mine = proto::json_valid(text, depth);
  const Oracle theirs = boost_parse(text, depth, false);
  if (theirs.verdict == Verdict::undetermined) return;
  if (mine != (theirs.verdict == Verdict::valid)) {
    fail(mine ? "json_valid accepts what Boost.JSON refuses" : "json_valid refuses what Boost.JSON accepts",
         text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  // One parser reused across inputs, as a connection reuses its own.
  static proto::Parser parser;

  Parsed a;
  a.ok = parser.parse(frame, a.msg, a.err);
  // Views into the parser's scratch buffer are overwritten by the next call: copy.
  const std::string a_id(a.ok ? a.msg.id : a.err.id), a_token(a.msg.token), a_room(a.msg.room),
      a_to(a.msg.to), a_data(a.msg.data), a_meta(a.msg.metadata);
  a.msg.id = a_id;
  a.err.id = a_id;
  a.msg.token = a_token;
  a.msg.room = a_room;
  a.msg.to = a_to;
  a.msg.data = a_data;
  a.msg.metadata = a_meta;

  // The padded overload, over a buffer of exactly size + kPadding bytes whose
  // padding repeats the frame (or quotes): plausible JSON right past the end.
  const size_t capacity = size + proto::Parser::kPadding;
  std::unique_ptr<char[]> buf(new char[capacity]);
  if (size) std::memcpy(buf.get(), data, size);
  for (size_t i = size; i < capacity; ++i) buf[i] = size ? static_cast<char>(data[i % size]) : '"';
  Parsed b;
  b.ok = parser.parse(buf.get(), size, capacity, b.msg, b.err);
  check_same(a, b, frame);

  const uint64_t seq = size * 0x9E3779B97F4A7C15ull;
  if (b.ok) {
    const auto& m = b.msg;
    // docs/protocol.md: a frame that is not JSON is a bad-request, whatever field is broken.
    check(boost_parse(frame, proto::kMaxJsonDepth + 1, true).verdict != Verdict::invalid,
          "parser accepted a frame that is not JSON", frame);
    // Raw fields are views of the frame itself: relayed byte for byte.
    check(within(m.id, buf.get(), size), "id is not a view of the frame");
    check(within(m.data, buf.get(), size), "data is not a view of the frame");
    check(within(m.metadata, buf.get(), size), "metadata is not a view of the frame");
    if (!m.data.empty()) {
      check(proto::json_valid(m.data, proto::kMaxJsonDepth), "data fails json_valid", m.data);
      must_parse(m.data, "data is not JSON to Boost.JSON");
    }
    if (!m.metadata.empty()) {
      check(must_parse(m.metadata, "metadata is not JSON to Boost.JSON").is_object(),
            "metadata is not an object", m.metadata);
      check(m.metadata.size() <= proto::kMaxMetadataBytes, "metadata over the limit");
    }
    // 64 characters after unescaping; each may be spelled as a 6-byte \u escape.
    if (!m.id.empty()) check(m.id.size() <= 6 * proto::kMaxIdChars + 2, "id over the limit", m.id);
    if (m.type == proto::MsgType::join || m.type == proto::MsgType::leave ||
        m.type == proto::MsgType::update || proto::is_relay(m.type))
      check(rtc::valid_room_name(m.room), "room not validated", m.room);
    check_encoders(m, seq);
  } else {
    check(within(b.err.id, buf.get(), size), "error id is not a view of the frame");
    check(!b.err.message.empty(), "error without a message");
    check_frame(proto::error(b.err.id, b.err.code, b.err.message), "error", b.err.id, seq);
  }

  check_json_valid(frame, proto::kMaxJsonDepth);
  check_json_valid(frame, size % 4 + 1);  // depth limits 1-4: the boundary itself
  return 0;
}
