#include "core/random.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sb {
namespace {

TEST(Random, BytesHaveTheLengthAskedAndDoNotRepeat) {
  for (size_t n : {0u, 1u, 16u, 300u}) EXPECT_EQ(random_bytes(n).size(), n);
  std::set<std::string> seen;
  std::set<unsigned char> values;
  for (int i = 0; i < 2000; ++i) {
    const std::string b = random_bytes(16);
    seen.insert(b);
    values.insert(b.begin(), b.end());
  }
  EXPECT_EQ(seen.size(), 2000u);
  // 32,000 bytes over 256 values: a missing one would mean a broken source.
  EXPECT_EQ(values.size(), 256u);
}

TEST(Random, HexHasTwoLowercaseDigitsPerByte) {
  const std::string s = random_hex(16);
  ASSERT_EQ(s.size(), 32u);
  for (char c : s) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << s;
}

}  // namespace
}  // namespace sb
