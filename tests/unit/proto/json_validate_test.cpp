#include "proto/json_validate.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::proto {
namespace {

TEST(JsonValidate, AcceptsEveryKindOfValue) {
  for (const char* ok : {"0", "-0", "1.5", "-1.25e+10", "1E-2", "1e400", "123456789012345678901234567890",
                         "true", "false", "null", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\"", "[]",
                         "{}", " [ 1 , 2 ] ", "{\"a\":{\"b\":[null,{}]}}", "\"é☎\""})
    EXPECT_TRUE(json_valid(ok, 64)) << ok;
}

TEST(JsonValidate, RejectsWhatIsNotJson) {
  for (const char* bad : {"",        " ",         "01",          "-",        "1.",         ".5",    "1e",
                          "+1",      "0x10",      "NaN",         "Infinity", "tru",        "nul",   "[1,]",
                          "[,1]",    "{\"a\"}",   "{\"a\":}",    "{a:1}",    "{\"a\":1,}", "[1 2]", "\"abc",
                          "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "1 2",      "[]]",        "{}}",   "'a'"})
    EXPECT_FALSE(json_valid(bad, 64)) << bad;
  EXPECT_FALSE(json_valid(std::string("\"a\x01\""), 64));
  EXPECT_FALSE(json_valid(std::string("\"a\nb\""), 64));
}

// The string scan skips plain bytes 32 (AVX2) or 8 (SWAR) at a time: every byte
// value, at every offset of strings longer than both widths, must still be
// judged as the JSON grammar says (control characters refused, '"' ending the
// string, '\\' starting an escape, everything else, 0x7F and UTF-8 bytes
// included, plain).
// prefix + s + suffix, built by appending (GCC 12 warns falsely, -Wrestrict, on
// operator+ of a literal and a string).
std::string wrap(const char* prefix, const std::string& s, const char* suffix) {
  std::string out(prefix);
  out.append(s);
  out.append(suffix);
  return out;
}

TEST(JsonValidate, EveryByteAtEveryOffsetOfALongString) {
  const std::string plain(80, 'a');
  for (size_t at = 0; at < plain.size(); ++at) {
    for (int b = 0; b < 256; ++b) {
      std::string s = plain;
      s[at] = static_cast<char>(b);
      const std::string text = wrap("\"", s, "\"");
      bool expected = b >= 0x20 && b != '"' && b != '\\';
      EXPECT_EQ(json_valid(text, 64), expected) << "byte " << b << " at " << at;
    }
    // An escape at this offset, and an escaped quote, which must not end the string.
    for (const char* esc : {"\\n", "\\\"", "\\\\", "\\u00e9"}) {
      std::string s = plain.substr(0, at);
      s.append(esc);
      s.append(plain, at);
      EXPECT_TRUE(json_valid(wrap("\"", s, "\""), 64)) << esc << " at " << at;
      EXPECT_TRUE(json_valid(wrap("[\"", s, "\",1]"), 64)) << esc << " at " << at;
    }
    const std::string cut = wrap("\"", plain.substr(0, at), "\\");  // a string ending in a lone backslash
    EXPECT_FALSE(json_valid(cut, 64)) << at;
  }
}

TEST(JsonValidate, EnforcesTheDepthLimit) {
  EXPECT_TRUE(json_valid(std::string(64, '[') + std::string(64, ']'), 64));
  EXPECT_FALSE(json_valid(std::string(65, '[') + std::string(65, ']'), 64));
  EXPECT_FALSE(json_valid(std::string(100000, '['), 64));  // no stack overflow on hostile input
}

}  // namespace
}  // namespace sb::proto
