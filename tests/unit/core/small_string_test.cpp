#include "core/small_string.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/ids.h"

namespace sb {
namespace {

std::string text(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + i % 26);
  return s;
}

TEST(SmallString, KeepsUpTo31BytesInlineAndLongerOnTheHeap) {
  for (size_t n : {0u, 1u, 15u, 16u, 18u, 22u, 30u, 31u, 32u, 33u, 64u, 300u}) {
    const std::string s = text(n);
    const SmallString v(s);
    EXPECT_EQ(v.view(), s) << n;
    EXPECT_EQ(v.size(), n);
    EXPECT_EQ(v.empty(), n == 0);
    EXPECT_EQ(v.on_heap(), n > SmallString::kInline) << n;
  }
}

TEST(SmallString, BytesAreKeptAsGivenIncludingNulAndHighBytes) {
  const std::string s("a\0b\xff\x80z", 6);
  EXPECT_EQ(SmallString(s).view(), s);
  const std::string all(std::string(200, '\xff'));
  EXPECT_EQ(SmallString(all).view(), all);
}

TEST(SmallString, CopiesAreIndependentAndMovesEmptyTheSource) {
  for (size_t n : {5u, 31u, 32u, 100u}) {
    const std::string s = text(n);
    SmallString a(s);
    SmallString b(a);
    EXPECT_EQ(b.view(), s);
    SmallString c(std::move(a));
    EXPECT_EQ(c.view(), s);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from string is empty
    a = b;                   // a moved-from string can be assigned again
    EXPECT_EQ(a.view(), s);
    b = SmallString(text(7));
    EXPECT_EQ(b.view(), text(7));
    EXPECT_EQ(a.view(), s) << "a copy does not share bytes";
  }
}

TEST(SmallString, AssignmentAcrossInlineAndHeapAndToItself) {
  SmallString a(text(100));
  SmallString b(text(3));
  a = b;  // heap <- inline: the block is freed (ASan checks the leak)
  EXPECT_EQ(a.view(), text(3));
  b = SmallString(text(50));  // inline <- heap
  EXPECT_EQ(b.view(), text(50));
  const SmallString& same = b;
  b = same;
  EXPECT_EQ(b.view(), text(50));
  b = std::move(b);  // NOLINT: self-move leaves the value
  EXPECT_EQ(b.view(), text(50));
}

TEST(SmallString, SurvivesAVectorThatGrows) {
  std::vector<SmallString> v;
  for (size_t i = 0; i < 200; ++i) v.emplace_back(text(i));
  for (size_t i = 0; i < 200; ++i) EXPECT_EQ(v[i].view(), text(i));
}

TEST(Id, ComparesAndHashesAsItsBytes) {
  const PeerId a("ca695d0a51199ed700");
  const PeerId b(std::string("ca695d0a51199ed700"));
  const PeerId c(std::string_view("ca695d0a51199ed701"));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(a, c);
  EXPECT_EQ(std::hash<PeerId>{}(a), std::hash<std::string_view>{}(a.str()));
  const RoomId long_room(text(120));
  EXPECT_EQ(long_room.str(), text(120));
  EXPECT_EQ(long_room.string(), text(120));
  EXPECT_TRUE(PeerId().empty());
  EXPECT_LT(RoomId(text(40)), RoomId(text(41)));  // a prefix orders first, inline or not
  EXPECT_LT(RoomId("ab"), RoomId(text(40)));
}

}  // namespace
}  // namespace sb
