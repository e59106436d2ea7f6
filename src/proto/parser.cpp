#include "proto/parser.h"

#include <simdjson.h>

#include <cstring>

#include "proto/json_validate.h"
#include "rtc/room_directory.h"

namespace sb::proto {

namespace od = simdjson::ondemand;

static_assert(Parser::kPadding >= simdjson::SIMDJSON_PADDING);

struct Parser::Impl {
  od::parser ondemand;
  od::parser nested;  // hello's `resume` object, parsed from its validated text

  Impl() {
    // +1: the frame's own object is one level above the relayed values.
    // Allocation failure here leaves the parser empty; it then allocates on first use.
    if (ondemand.allocate(64 * 1024, kMaxJsonDepth + 1)) ondemand = od::parser{};
  }
};

Parser::Parser() : impl_(new Impl) {}
Parser::~Parser() {
  delete impl_;
}

namespace {

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool fail(ParseError& err, std::string message, ErrorCode code = ErrorCode::bad_request) {
  err.code = code;
  err.message = std::move(message);
  return false;
}

// The text of the scalar `v` (string, number, literal) without trailing white
// space, and whether a field separator follows it. On Demand does not consume a
// value read this way: moving to the next field it skips the value by
// balancing brackets without checking separators, so `{"x":"a":"b"}}` would
// pass. The token runs up to the next structural character, which must then be
// `,` or `}` (the padding, at the end of the buffer, is neither). O(1).
bool scalar_token(od::value& v, std::string_view& out) {
  const std::string_view token = v.raw_json_token();
  const char next = token.data()[token.size()];
  if (next != ',' && next != '}') return false;
  out = trim_right(token);
  return true;
}

// Returns the exact source text of `v` and consumes it. On Demand skips
// objects and arrays lazily, so the text is then checked against the JSON
// grammar: the recipient must never receive something that is not JSON.
bool raw_value(od::value v, std::string_view& out) {
  od::json_type t;
  if (v.type().get(t)) return false;
  std::string_view raw;
  if (t == od::json_type::object) {
    od::object o;
    if (v.get_object().get(o) || o.raw_json().get(raw)) return false;
  } else if (t == od::json_type::array) {
    od::array a;
    if (v.get_array().get(a) || a.raw_json().get(raw)) return false;
  } else if (!scalar_token(v, raw)) {
    return false;
  }
  raw = trim_right(raw);  // raw_json() includes the white space up to the next token
  if (!json_valid(raw, kMaxJsonDepth)) return false;
  out = raw;
  return true;
}

// JSON integer grammar: -?(0|[1-9][0-9]*)
bool is_json_integer(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  if (s.size() > 1 && s.front() == '0') return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool read_string(od::value v, std::string_view& out) {
  return !v.get_string().get(out);
}

// Reads `{session, resume_token, last_seq}` from the validated JSON object
// `text` (with `room` readable bytes from text.data()): session and
// resume_token non-empty strings of at most 64 and 128 characters, last_seq a
// non-negative integer. Other keys are ignored. O(size of text).
bool parse_resume(od::parser& p, std::string_view text, size_t room, ClientMessage& out,
                  std::string& problem) {
  od::document doc;
  od::object obj;
  if (p.iterate(text.data(), text.size(), room).get(doc) || doc.get_object().get(obj)) {
    problem = "'resume' must be an object";
    return false;
  }
  bool has_session = false, has_token = false, has_seq = false;
  for (auto field_result : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
      problem = "'resume' is not valid JSON";
      return false;
    }
    od::value v = field.value();
    if (key == "session" || key == "resume_token") {
      std::string_view s;
      if (!read_string(v, s) || s.empty() || s.size() > (key == "session" ? 64u : 128u)) {
        problem = "'resume." + std::string(key) + "' must be a non-empty string of at most " +
                  (key == "session" ? "64" : "128") + " characters";
        return false;
      }
      (key == "session" ? out.resume_session : out.resume_token) = s;
      (key == "session" ? has_session : has_token) = true;
    } else if (key == "last_seq") {
      std::string_view raw;
      uint64_t n = 0;
      od::json_type t;
      if (v.type().get(t) || t != od::json_type::number || !scalar_token(v, raw) || !is_json_integer(raw) ||
          raw.front() == '-' || v.get_uint64().get(n)) {
        problem = "'resume.last_seq' must be a non-negative integer";
        return false;
      }
      out.resume_last_seq = n;
      has_seq = true;
    } else {
      std::string_view ignored;
      if (!raw_value(v, ignored)) {
        problem = "'resume' is not valid JSON";
        return false;
      }
    }
  }
  if (!has_session || !has_token || !has_seq) {
    problem = "'resume' needs 'session', 'resume_token' and 'last_seq'";
    return false;
  }
  return true;
}

bool type_from_string(std::string_view s, MsgType& t) {
  static constexpr std::pair<std::string_view, MsgType> kTypes[] = {
      {"offer", MsgType::offer},     {"answer", MsgType::answer}, {"ice-candidate", MsgType::ice_candidate},
      {"message", MsgType::message}, {"ping", MsgType::ping},     {"hello", MsgType::hello},
      {"refresh", MsgType::refresh}, {"join", MsgType::join},     {"leave", MsgType::leave},
      {"update", MsgType::update},
  };
  for (const auto& [name, type] : kTypes)
    if (name == s) {
      t = type;
      return true;
    }
  return false;
}

}  // namespace

bool Parser::parse(std::string_view frame, ClientMessage& out, ParseError& err) {
  scratch_.assign(frame);
  scratch_.append(kPadding, '\0');
  return parse(scratch_.data(), frame.size(), scratch_.size(), out, err);
}

bool Parser::parse(const char* buf, size_t len, size_t capacity, ClientMessage& out, ParseError& err) {
  out = ClientMessage{};
  err = ParseError{};
  if (capacity < len + kPadding) return fail(err, "internal: unpadded buffer", ErrorCode::internal);

  od::document doc;
  if (impl_->ondemand.iterate(buf, len, capacity).get(doc)) return fail(err, "frame is not JSON");
  od::object obj;
  if (doc.get_object().get(obj)) return fail(err, "frame is not a JSON object");

  std::string_view type_name;
  bool has_type = false;
  // A field of the wrong type is remembered and scanning goes on, so that the
  // error can carry the message's `id` even when `id` comes later in the frame.
  ParseError first;
  bool failed = false;
  auto field_fail = [&](std::string message, ErrorCode code = ErrorCode::bad_request) {
    if (!failed) {
      failed = true;
      first.code = code;
      first.message = std::move(message);
    }
  };
  for (auto field_result : obj) {
    od::field field;
    if (std::move(field_result).get(field)) return fail(err, "frame is not valid JSON");
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail(err, "frame is not valid JSON");
    od::value v = field.value();
    if (key == "type") {
      if (!read_string(v, type_name)) {
        field_fail("'type' must be a string");
        continue;
      }
      has_type = true;
    } else if (key == "id") {
      od::json_type t;
      std::string_view raw;
      if (v.type().get(t)) return fail(err, "frame is not valid JSON");
      const bool scalar = t != od::json_type::object && t != od::json_type::array;
      if (scalar && t != od::json_type::string && !scalar_token(v, raw))
        return fail(err, "frame is not valid JSON");
      if (t == od::json_type::string) {
        raw = trim_right(v.raw_json_token());
        std::string_view s;
        if (!read_string(v, s)) return fail(err, "frame is not valid JSON");
        if (s.size() > kMaxIdChars) {
          field_fail("'id' is longer than 64 characters");
          continue;
        }
      } else if (t != od::json_type::number || !is_json_integer(raw) || raw.size() > kMaxIdChars) {
        {
          field_fail("'id' must be a string or an integer of at most 64 characters");
          continue;
        }
      }
      out.id = raw;
      err.id = raw;
    } else if (key == "token") {
      if (!read_string(v, out.token)) {
        field_fail("'token' must be a string");
        continue;
      }
    } else if (key == "room") {
      if (!read_string(v, out.room)) {
        field_fail("'room' must be a string");
        continue;
      }
      if (out.room.empty()) out.room = std::string_view(buf, 0);  // present but empty: caught below
    } else if (key == "to") {
      if (!read_string(v, out.to)) {
        field_fail("'to' must be a string");
        continue;
      }
      if (out.to.empty()) {
        field_fail("'to' must not be empty");
        continue;
      }
    } else if (key == "data") {
      if (!raw_value(v, out.data)) {
        field_fail("'data' is not valid JSON");
        continue;
      }
    } else if (key == "metadata") {
      od::json_type t;
      if (v.type().get(t)) return fail(err, "frame is not valid JSON");
      if (t != od::json_type::object) {
        field_fail("'metadata' must be a JSON object");
        continue;
      }
      if (!raw_value(v, out.metadata)) {
        field_fail("'metadata' is not valid JSON");
        continue;
      }
      if (out.metadata.size() > kMaxMetadataBytes) {
        field_fail("'metadata' is larger than 4096 bytes", ErrorCode::too_large);
        continue;
      }
    } else if (key == "resume") {
      od::json_type t;
      if (v.type().get(t) || t != od::json_type::object) {
        field_fail("'resume' must be an object");
        continue;
      }
      std::string_view text;
      if (!raw_value(v, text)) {
        field_fail("frame is not valid JSON");
        continue;
      }
      // The text lies inside the padded frame buffer, so it can be parsed in place.
      const size_t room = static_cast<size_t>(buf + capacity - text.data());
      std::string problem;
      if (!parse_resume(impl_->nested, text, room, out, problem)) {
        field_fail(std::move(problem));
        continue;
      }
      out.has_resume = true;
    } else {
      // Unknown fields are ignored (forward compatibility), but On Demand would
      // skip their values unchecked: a frame that is not JSON is refused whole.
      std::string_view ignored;
      if (!raw_value(v, ignored)) {
        field_fail("frame is not valid JSON");
        continue;
      }
    }
  }
  // A structural error met while moving to the next field can end the loop
  // quietly, with the iterator abandoned; only is_alive() tells.
  if (!doc.is_alive()) return fail(err, "frame is not valid JSON");
  // Anything after the object (e.g. `{} {}`) makes the frame invalid.
  const char* end = nullptr;
  if (!doc.current_location().get(end)) return fail(err, "unexpected content after the JSON object");

  if (failed) {
    err.code = first.code;
    err.message = std::move(first.message);
    return false;
  }
  if (!has_type) return fail(err, "missing 'type'");
  if (!type_from_string(type_name, out.type)) return fail(err, "unknown type");

  const bool has_room = out.room.data() != nullptr;
  auto need_room = [&]() {
    if (!has_room) return fail(err, "missing 'room'");
    if (!rtc::valid_room_name(out.room)) return fail(err, "'room' must be 1-64 characters of [A-Za-z0-9._-]");
    return true;
  };
  switch (out.type) {
    case MsgType::hello:
    case MsgType::ping: return true;
    case MsgType::refresh:
      if (out.token.empty()) return fail(err, "missing 'token'");
      return true;
    case MsgType::join:
    case MsgType::leave: return need_room();
    case MsgType::update:
      if (!need_room()) return false;
      if (out.metadata.empty()) return fail(err, "missing 'metadata'");
      return true;
    case MsgType::offer:
    case MsgType::answer:
    case MsgType::ice_candidate:
      if (!need_room()) return false;
      if (out.to.empty()) return fail(err, "missing 'to'");
      if (out.data.empty()) return fail(err, "missing 'data'");
      return true;
    case MsgType::message:
      if (!need_room()) return false;
      if (out.data.empty()) return fail(err, "missing 'data'");
      return true;
  }
  return fail(err, "unknown type");
}

}  // namespace sb::proto
