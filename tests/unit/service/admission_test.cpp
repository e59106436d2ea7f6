#include "service/admission.h"

#include <gtest/gtest.h>

namespace sb::service {
namespace {

using namespace std::chrono_literals;
const auto t0 = Admission::Clock::time_point{} + 1000s;

TEST(Admission, ServerWideCapGives503) {
  Admission a({2, 0, 0, 0});
  EXPECT_TRUE(a.admit("1.1.1.1", t0).ok);
  EXPECT_TRUE(a.admit("2.2.2.2", t0).ok);
  Verdict v = a.admit("3.3.3.3", t0);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.status, 503u);
  EXPECT_GT(v.retry_after_s, 0u);
  a.release("1.1.1.1");
  EXPECT_TRUE(a.admit("3.3.3.3", t0).ok);
  EXPECT_EQ(a.active(), 2u);
}

TEST(Admission, PerAddressCapGives429AndOthersAreUnaffected) {
  Admission a({0, 2, 0, 0});
  EXPECT_TRUE(a.admit("1.1.1.1", t0).ok);
  EXPECT_TRUE(a.admit("1.1.1.1", t0).ok);
  Verdict v = a.admit("1.1.1.1", t0);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.status, 429u);
  EXPECT_TRUE(a.admit("2.2.2.2", t0).ok);
  a.release("1.1.1.1");
  EXPECT_TRUE(a.admit("1.1.1.1", t0).ok);
}

TEST(Admission, NewConnectionRatePerAddress) {
  Admission a({0, 0, 10, 3});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(a.admit("1.1.1.1", t0).ok);
  Verdict v = a.admit("1.1.1.1", t0);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.status, 429u);
  EXPECT_GE(v.retry_after_s, 1u);
  EXPECT_TRUE(a.admit("2.2.2.2", t0).ok);
  EXPECT_TRUE(a.admit("1.1.1.1", t0 + 100ms).ok);
}

TEST(Admission, ReleaseOfUnknownAddressIsHarmless) {
  Admission a({});
  a.release("9.9.9.9");
  EXPECT_EQ(a.active(), 0u);
}

}  // namespace
}  // namespace sb::service
