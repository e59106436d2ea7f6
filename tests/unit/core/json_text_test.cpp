#include "core/json_text.h"

#include <gtest/gtest.h>

namespace sb {
namespace {

TEST(JsonText, QuotesPlainText) {
  EXPECT_EQ(json_quote("abc"), "\"abc\"");
}

TEST(JsonText, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_quote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_quote("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(json_quote(std::string_view("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(json_quote(std::string_view("\0", 1)), R"("\u0000")");
}

TEST(JsonText, LeavesUtf8Alone) {
  EXPECT_EQ(json_quote("héllo ☎"), "\"héllo ☎\"");
}

TEST(JsonText, AppendsIntegers) {
  std::string s;
  json_append_uint(s, 0);
  s += ',';
  json_append_uint(s, 18446744073709551615ull);
  EXPECT_EQ(s, "0,18446744073709551615");
}

}  // namespace
}  // namespace sb
