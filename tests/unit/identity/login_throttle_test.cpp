#include "identity/login_throttle.h"

#include <gtest/gtest.h>

namespace sb::identity {

namespace {
std::string name(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}
}  // namespace

using Clock = LoginThrottle::Clock;
using std::chrono::seconds;

TEST(LoginThrottle, UserBucketEmptiesThenRefills) {
  LoginThrottle t(ThrottleLimits{3, 1.0 / 10, 100, 10, 1000});
  const auto t0 = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.begin("alice", "1.1.1.1", t0), 0u) << i;
  const unsigned wait = t.begin("alice", "1.1.1.1", t0);
  EXPECT_GE(wait, 9u);
  EXPECT_LE(wait, 10u);
  EXPECT_EQ(t.begin("bob", "1.1.1.1", t0), 0u);                  // other names are not affected
  EXPECT_EQ(t.begin("alice", "1.1.1.1", t0 + seconds(10)), 0u);  // one token back
  EXPECT_GT(t.begin("alice", "1.1.1.1", t0 + seconds(10)), 0u);
}

TEST(LoginThrottle, AddressBucketCoversManyNames) {
  LoginThrottle t(ThrottleLimits{100, 1, 4, 1.0 / 60, 1000});
  const auto t0 = Clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.begin(name("user", i), "9.9.9.9", t0), 0u);
  EXPECT_GT(t.begin("fresh-name", "9.9.9.9", t0), 0u);
  EXPECT_EQ(t.begin("fresh-name", "8.8.8.8", t0), 0u);
}

TEST(LoginThrottle, SuccessRefillsTheName) {
  LoginThrottle t(ThrottleLimits{2, 1.0 / 60, 100, 10, 1000});
  const auto t0 = Clock::now();
  EXPECT_EQ(t.begin("alice", "ip", t0), 0u);
  EXPECT_EQ(t.begin("alice", "ip", t0), 0u);
  EXPECT_GT(t.begin("alice", "ip", t0), 0u);
  t.succeeded("alice", "ip", t0);
  EXPECT_EQ(t.begin("alice", "ip", t0), 0u);
}

TEST(LoginThrottle, SuccessesDoNotDrainTheAddress) {
  LoginThrottle t(ThrottleLimits{100, 1, 2, 1.0 / 60, 1000});
  const auto t0 = Clock::now();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(t.begin(name("user", i), "ip", t0), 0u) << i;
    t.succeeded(name("user", i), "ip", t0);
  }
  EXPECT_EQ(t.begin("x", "ip", t0), 0u);
  EXPECT_EQ(t.begin("y", "ip", t0), 0u);
  EXPECT_GT(t.begin("z", "ip", t0), 0u);
}

TEST(LoginThrottle, BoundedMemory) {
  LoginThrottle t(ThrottleLimits{1, 1.0 / 60, 1000000, 1000, 100});
  const auto t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) t.begin(name("u", i), "ip", t0);
  // A name far back has been forgotten (its bucket dropped), a recent one is still empty.
  EXPECT_GT(t.begin("u999", "ip", t0), 0u);
}

}  // namespace sb::identity
