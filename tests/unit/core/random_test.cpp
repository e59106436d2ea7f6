#include "core/random.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sb {
namespace {

bool b64url_only(const std::string& s) {
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

TEST(Random, B64urlHasTheUnpaddedLengthAndAlphabet) {
  // RFC 4648 §5 without padding: ceil(8 * bytes / 6) characters.
  for (size_t bytes : {0u, 1u, 2u, 3u, 4u, 5u, 16u, 32u}) {
    const std::string s = random_b64url(bytes);
    EXPECT_EQ(s.size(), (bytes * 8 + 5) / 6) << bytes;
    EXPECT_TRUE(b64url_only(s)) << s;
  }
  EXPECT_EQ(random_b64url(16).size(), 22u);
}

TEST(Random, B64urlUsesTheWholeAlphabetAndDoesNotRepeat) {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 2000; ++i) {
    const std::string s = random_b64url(16);
    seen.insert(s);
    chars.insert(s.begin(), s.end());
  }
  EXPECT_EQ(seen.size(), 2000u);
  // 44,000 characters over 64 symbols: a missing one would mean a broken encoder.
  EXPECT_EQ(chars.size(), 64u);
}

TEST(Random, HexHasTwoLowercaseDigitsPerByte) {
  const std::string s = random_hex(16);
  ASSERT_EQ(s.size(), 32u);
  for (char c : s) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << s;
}

}  // namespace
}  // namespace sb
