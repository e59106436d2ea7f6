// bench/json_scan.h — reads the top-level members of a server frame without a DOM.
//
// The generator looks at a few fields of every frame it receives (type, seq,
// and a timestamp inside `data`). Building a DOM for each ~1 KiB relay would
// cost the generator more CPU than the server spends relaying it, and this
// machine runs both, so frames are walked once: strings are skipped with
// memchr, nested values by depth counting. Key order and whitespace do not
// matter, so the same code reads Switchboard's frames and the baselines'.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace sb::bench {

class ObjectScanner {
 public:
  explicit ObjectScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {
    ws();
    ok_ = p_ < end_ && *p_ == '{';
    if (ok_) ++p_;
  }

  // The next member: `key` without quotes (escapes left as written), `value`
  // raw (a string keeps its quotes). False at the end or on malformed input.
  bool next(std::string_view& key, std::string_view& value) {
    if (!ok_) return false;
    ws();
    if (p_ < end_ && *p_ == ',') {
      ++p_;
      ws();
    }
    if (p_ >= end_ || *p_ == '}') return false;
    if (*p_ != '"') return fail();
    const char* k = p_;
    if (!skip_string()) return fail();
    key = std::string_view(k + 1, static_cast<size_t>(p_ - k - 2));
    ws();
    if (p_ >= end_ || *p_ != ':') return fail();
    ++p_;
    ws();
    const char* v = p_;
    if (!skip_value()) return fail();
    value = std::string_view(v, static_cast<size_t>(p_ - v));
    return true;
  }

  bool ok() const { return ok_; }

 private:
  bool fail() {
    ok_ = false;
    return false;
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  // At '"': moves past the closing quote.
  bool skip_string() {
    const char* s = p_ + 1;
    for (;;) {
      const void* q = std::memchr(s, '"', static_cast<size_t>(end_ - s));
      if (!q) return false;
      const char* quote = static_cast<const char*>(q);
      size_t backslashes = 0;
      for (const char* b = quote - 1; b > p_ && *b == '\\'; --b) ++backslashes;
      if (backslashes % 2 == 0) {
        p_ = quote + 1;
        return true;
      }
      s = quote + 1;
    }
  }
  bool skip_value() {
    if (p_ >= end_) return false;
    if (*p_ == '"') return skip_string();
    if (*p_ == '{' || *p_ == '[') {
      int depth = 0;
      while (p_ < end_) {
        const char c = *p_;
        if (c == '"') {
          if (!skip_string()) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        ++p_;
        if (depth == 0) return true;
      }
      return false;
    }
    while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ' ' && *p_ != '\n') ++p_;
    return true;
  }

  const char* p_;
  const char* end_;
  bool ok_;
};

// A raw JSON string value without its quotes (the bench's own ids need no unescaping).
inline std::string_view unquote(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') return raw.substr(1, raw.size() - 2);
  return {};
}

inline bool parse_u64(std::string_view raw, uint64_t& out) {
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), out);
  return ec == std::errc() && end == raw.data() + raw.size();
}

// The unsigned integer following `"key":` anywhere in `text`, e.g. the send
// timestamp inside a relayed `data` object (the bench writes it, so it is unique).
inline bool find_u64(std::string_view text, std::string_view needle, uint64_t& out) {
  const size_t at = text.find(needle);
  if (at == std::string_view::npos) return false;
  const char* p = text.data() + at + needle.size();
  auto [end, ec] = std::from_chars(p, text.data() + text.size(), out);
  return ec == std::errc() && end != p;
}

}  // namespace sb::bench
