// proto/parser.h — reading one client frame.
//
// The hot path: every frame a client sends passes through parse(). It uses
// simdjson On Demand over the receive buffer itself (no copy), looks at each
// top-level field once, and returns views into the frame for the parts that are
// relayed (`data`, `metadata`, `id`) so they can be forwarded byte for byte.
// Relayed values are fully validated (the recipient must never receive invalid
// JSON), bounded in depth, and must be the only value in the frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/message.h"

namespace sb::proto {

struct ClientMessage {
  MsgType type = MsgType::ping;
  std::string_view id;     // raw JSON text of `id` (a string with its quotes, or an integer); empty if absent
  std::string_view token;  // hello: unescaped; empty if absent
  std::string_view room;   // unescaped; validated room name when present
  std::string_view to;     // unescaped peer id; empty if absent
  std::string_view data;   // raw JSON text of `data`; empty if absent
  std::string_view metadata;  // raw JSON text of `metadata` (an object); empty if absent
  // hello: `resume: {session, resume_token, last_seq}` (session resume); all three present and valid
  // when has_resume. Views are unescaped strings.
  bool has_resume = false;
  std::string_view resume_session;
  std::string_view resume_token;
  uint64_t resume_last_seq = 0;
};

struct ParseError {
  ErrorCode code = ErrorCode::bad_request;
  std::string message;
  std::string_view id;  // raw id when it could be read, so the error can carry it
};

class Parser {
 public:
  Parser();
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses the frame [buf, buf+len). `capacity` is the number of readable bytes
  // at buf and must be at least len + kPadding (simdjson reads ahead; the
  // padding's content does not matter). Views in `out` stay valid until the
  // next call or until the buffer changes. Cost: linear in len, about 1-2 GB/s.
  bool parse(const char* buf, size_t len, size_t capacity, ClientMessage& out, ParseError& err);

  // Convenience for tests and cold paths: copies into a padded buffer first.
  bool parse(std::string_view frame, ClientMessage& out, ParseError& err);

  static constexpr size_t kPadding = 64;

 private:
  struct Impl;
  Impl* impl_;
  std::string scratch_;
};

}  // namespace sb::proto
