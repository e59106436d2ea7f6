#include "core/fifo.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sb {
namespace {

TEST(Fifo, FirstInFirstOutAcrossCompactions) {
  Fifo<int> q;
  EXPECT_TRUE(q.empty());
  int next_in = 0, next_out = 0;
  // Pushes and pops in uneven bursts, so that the head passes every compaction point.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < round % 7 + 3; ++i) q.push_back(next_in++);
    for (int i = 0; i < round % 5 + 1 && !q.empty(); ++i) {
      ASSERT_EQ(q.front(), next_out++);
      q.pop_front();
    }
    ASSERT_EQ(q.size(), static_cast<size_t>(next_in - next_out));
    if (!q.empty()) {
      EXPECT_EQ(q.back(), next_in - 1);
      EXPECT_EQ(q[0], next_out);
      EXPECT_EQ(*q.begin(), next_out);
      EXPECT_EQ(q[q.size() - 1], next_in - 1);
    }
  }
  while (!q.empty()) {
    ASSERT_EQ(q.front(), next_out++);
    q.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(Fifo, PopReleasesTheElementAtOnce) {
  Fifo<std::shared_ptr<std::string>> q;
  auto a = std::make_shared<std::string>("a");
  q.push_back(a);
  q.push_back(std::make_shared<std::string>("b"));
  EXPECT_EQ(a.use_count(), 2);
  q.pop_front();
  EXPECT_EQ(a.use_count(), 1);  // not kept until the consumed prefix is compacted
  EXPECT_EQ(*q.front(), "b");
}

TEST(Fifo, TruncateKeepsTheFirstOnes) {
  Fifo<int> q;
  for (int i = 0; i < 10; ++i) q.push_back(i);
  q.pop_front();
  q.truncate(2);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0], 1);
  EXPECT_EQ(q[1], 2);
  q.truncate(0);
  EXPECT_TRUE(q.empty());
  q.push_back(7);
  EXPECT_EQ(q.front(), 7);
}

}  // namespace
}  // namespace sb
