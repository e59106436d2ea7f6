#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace sb {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(utf8_valid(""));
  EXPECT_TRUE(utf8_valid("plain ascii"));
  EXPECT_TRUE(utf8_valid("héllo ☎ 𝄞"));
  EXPECT_TRUE(utf8_valid("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(utf8_valid(std::string_view("\0", 1)));
}

TEST(Utf8, RefusesMalformedText) {
  for (std::string_view bad : {
           std::string_view("\xFF"), std::string_view("\x80"),  // stray bytes
           std::string_view("\xC3"),                            // truncated
           std::string_view("a\xE2\x98"),                       // truncated three-byte form
           std::string_view("\xC0\xAF"),                        // overlong '/'
           std::string_view("\xE0\x80\xAF"),                    // overlong
           std::string_view("\xED\xA0\x80"),                    // surrogate U+D800
           std::string_view("\xF4\x90\x80\x80"),                // above U+10FFFF
           std::string_view("\xE2\x28\xA1"),                    // bad continuation
       })
    EXPECT_FALSE(utf8_valid(bad)) << testing::PrintToString(std::string(bad));
}

TEST(Utf8, PrefixNeverSplitsACharacter) {
  const std::string s = std::string(63, 'a') + "é";  // é is 2 bytes: 65 in all
  EXPECT_EQ(utf8_prefix(s, 64), std::string(63, 'a'));
  EXPECT_EQ(utf8_prefix(s, 65), s);
  EXPECT_EQ(utf8_prefix("☎☎", 4), "☎");
  EXPECT_EQ(utf8_prefix("☎", 2), "");
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
  EXPECT_TRUE(utf8_valid(utf8_prefix("𝄞𝄞𝄞", 7)));
}

}  // namespace
}  // namespace sb
