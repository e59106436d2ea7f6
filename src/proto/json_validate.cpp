#include "proto/json_validate.h"

#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace sb::proto {

namespace {

class Validator {
 public:
  Validator(std::string_view s, size_t max_depth)
      : p_(s.data()), end_(s.data() + s.size()), max_depth_(max_depth) {}

  bool run() {
    ws();
    if (!value(0)) return false;
    ws();
    return p_ == end_;
  }

 private:
  bool at(char c) const { return p_ < end_ && *p_ == c; }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

  bool value(size_t depth) {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  bool object(size_t depth) {
    if (depth > max_depth_) return false;
    ++p_;  // '{'
    ws();
    if (at('}')) return ++p_, true;
    for (;;) {
      ws();
      if (!at('"') || !string()) return false;
      ws();
      if (!at(':')) return false;
      ++p_;
      ws();
      if (!value(depth)) return false;
      ws();
      if (at(',')) {
        ++p_;
        continue;
      }
      if (at('}')) return ++p_, true;
      return false;
    }
  }

  bool array(size_t depth) {
    if (depth > max_depth_) return false;
    ++p_;  // '['
    ws();
    if (at(']')) return ++p_, true;
    for (;;) {
      ws();
      if (!value(depth)) return false;
      ws();
      if (at(',')) {
        ++p_;
        continue;
      }
      if (at(']')) return ++p_, true;
      return false;
    }
  }

  // Skips bytes that need no attention inside a string (anything but '"',
  // '\\' and control characters): relayed SDP is one long string, so this is
  // where validation spends its time. With AVX2 (the release build targets
  // haswell) 32 bytes a turn; else eight at a time by SWAR, whose tests may
  // flag a byte falsely only after a true match in the same word (the
  // byte-wise loop in string() then handles it).
  void skip_plain() {
#if defined(__AVX2__)
    const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\');
    const __m256i high3 = _mm256_set1_epi8(static_cast<char>(0xE0)), zero = _mm256_setzero_si256();
    while (end_ - p_ >= 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p_));
      const __m256i special =
          _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
                          _mm256_cmpeq_epi8(_mm256_and_si256(v, high3), zero));  // c < 0x20
      const auto mask = static_cast<uint32_t>(_mm256_movemask_epi8(special));
      if (mask != 0) {
        p_ += __builtin_ctz(mask);
        return;
      }
      p_ += 32;
    }
#endif
    constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    auto has_zero = [&](uint64_t v) { return (v - ones) & ~v & highs; };
    while (end_ - p_ >= 8) {
      uint64_t w;
      std::memcpy(&w, p_, 8);
      const uint64_t special =
          ((w - 0x20 * ones) & ~w & highs) | has_zero(w ^ (0x22 * ones)) | has_zero(w ^ (0x5c * ones));
      if (special) return;
      p_ += 8;
    }
  }

  bool string() {
    ++p_;  // opening quote
    for (;;) {
      skip_plain();
      if (p_ >= end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') return ++p_, true;
      if (c < 0x20) return false;
      if (c != '\\') {
        ++p_;
        continue;
      }
      if (++p_ >= end_) return false;
      switch (*p_) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't': ++p_; break;
        case 'u':
          if (end_ - p_ < 5 || !hex(p_[1]) || !hex(p_[2]) || !hex(p_[3]) || !hex(p_[4])) return false;
          p_ += 5;
          break;
        default: return false;
      }
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number() {
    if (at('-')) ++p_;
    if (at('0')) {
      ++p_;
    } else {
      if (p_ >= end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (at('.')) {
      ++p_;
      if (p_ >= end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (at('e') || at('E')) {
      ++p_;
      if (at('+') || at('-')) ++p_;
      if (p_ >= end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  size_t max_depth_;
};

}  // namespace

bool json_valid(std::string_view text, size_t max_depth) {
  return Validator(text, max_depth).run();
}

}  // namespace sb::proto
