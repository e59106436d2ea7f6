#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace sb {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

TEST(TokenBucket, AllowsTheBurstThenRefillsAtTheRate) {
  TokenBucket b(10, 5);
  const auto t0 = Clock::time_point{} + 100s;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(t0)) << i;
  EXPECT_FALSE(b.take(t0));
  EXPECT_FALSE(b.take(t0 + 50ms));  // half a token
  EXPECT_TRUE(b.take(t0 + 100ms));  // one token after 1/rate
  EXPECT_FALSE(b.take(t0 + 100ms));
  EXPECT_TRUE(b.take(t0 + 10s, 5));  // refills up to the burst only
  EXPECT_FALSE(b.take(t0 + 10s));
}

TEST(TokenBucket, CostsAboveTheBurstNeverPass) {
  TokenBucket b(1000, 100);
  EXPECT_FALSE(b.take(Clock::time_point{} + 1s, 101));
  EXPECT_TRUE(b.take(Clock::time_point{} + 1s, 100));
}

TEST(TokenBucket, RateZeroIsUnlimited) {
  TokenBucket b(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.take(Clock::time_point{} + 1s, 1e9));
}

TEST(TokenBucket, WaitTellsWhenTheNextTokenComes) {
  TokenBucket b(2, 1);
  const auto t0 = Clock::time_point{} + 1s;
  EXPECT_TRUE(b.take(t0));
  EXPECT_DOUBLE_EQ(b.wait_s(t0), 0.5);
  EXPECT_FALSE(b.full(t0));
  EXPECT_TRUE(b.full(t0 + 1s));
}

TEST(TokenCounter, CountersUnderOneRateKeepTheirOwnLevels) {
  const TokenRate rate{10, 3};
  TokenCounter a, b;
  const auto t0 = Clock::time_point{} + 5s;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(a.take(rate, t0)) << i;
  EXPECT_FALSE(a.take(rate, t0));
  EXPECT_TRUE(b.full(rate, t0));  // a new counter is full, whatever the other took
  EXPECT_TRUE(b.take(rate, t0, 3));
  EXPECT_FALSE(b.take(rate, t0));
  EXPECT_TRUE(a.take(rate, t0 + 100ms));  // refills at the rate passed in
  EXPECT_DOUBLE_EQ(b.wait_s(rate, t0 + 50ms), 0.05);
  b.give(rate, t0 + 50ms, 10);  // never above the burst
  EXPECT_TRUE(b.full(rate, t0 + 50ms));
  EXPECT_FALSE(b.take(rate, t0 + 50ms, 4));
  EXPECT_TRUE(a.take(TokenRate{}, t0, 1e9));  // rate 0: unlimited
  // Half the size of a bucket that keeps its own rate: what every connection saves twice.
  EXPECT_EQ(sizeof(TokenCounter), 16u);
}

}  // namespace
}  // namespace sb
