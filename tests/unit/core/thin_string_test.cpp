#include "core/thin_string.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sb {
namespace {

TEST(ThinString, OnePointerWideAndEmptyByDefault) {
  EXPECT_EQ(sizeof(ThinString), sizeof(void*));
  ThinString s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.view(), "");
  EXPECT_NE(s.data(), nullptr);  // an empty view still points somewhere
  EXPECT_EQ(ThinString(""), s);  // empty text owns nothing either
  EXPECT_TRUE(ThinString(std::string()).empty());
}

TEST(ThinString, KeepsItsBytesThroughCopyMoveAndAssignment) {
  const std::string text = std::string("display \"name\"\0 with a NUL", 26);
  ThinString a(text);
  EXPECT_EQ(a.size(), text.size());
  EXPECT_EQ(a.view(), text);
  EXPECT_EQ(a, text);
  ThinString b = a;  // a copy owns its own bytes
  EXPECT_EQ(b, a);
  EXPECT_NE(b.data(), a.data());
  ThinString c = std::move(a);
  EXPECT_EQ(c, text);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  c = c;                   // self-assignment keeps the text
  EXPECT_EQ(c, text);
  c = std::string("{}");
  EXPECT_EQ(c, "{}");
  EXPECT_EQ(c.string(), "{}");
  c = ThinString();
  EXPECT_TRUE(c.empty());
  c.assign("xyz", 2);
  EXPECT_EQ(c, std::string_view("xy"));
}

TEST(ThinString, LongTextAndAGrowingVector) {
  std::vector<ThinString> v;
  for (int i = 0; i < 100; ++i) v.emplace_back(std::string(static_cast<size_t>(i) * 37, 'a' + i % 26));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(v[i].size(), static_cast<size_t>(i) * 37);
    if (i) {
      EXPECT_EQ(v[i].view().front(), 'a' + i % 26);
    }
  }
}

}  // namespace
}  // namespace sb
