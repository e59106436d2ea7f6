#include "service/client_address.h"

#include <gtest/gtest.h>

namespace sb::service {
namespace {

namespace ip = boost::asio::ip;

TEST(ClientAddress, UntrustedPeerIsTheClientWhateverItClaims) {
  TrustedProxies none;
  EXPECT_EQ(client_ip(ip::make_address("203.0.113.7"), "1.2.3.4", none), "203.0.113.7");
  TrustedProxies lb({"10.0.0.1"});
  EXPECT_EQ(client_ip(ip::make_address("203.0.113.7"), "1.2.3.4", lb), "203.0.113.7");
}

TEST(ClientAddress, TrustedProxyForwardsTheRightMostUntrustedHop) {
  TrustedProxies lb({"10.0.0.0/8", "::1"});
  EXPECT_EQ(client_ip(ip::make_address("10.1.2.3"), "198.51.100.1", lb), "198.51.100.1");
  // The client may prepend anything; only hops added by trusted proxies count.
  EXPECT_EQ(client_ip(ip::make_address("10.1.2.3"), "6.6.6.6, 198.51.100.1, 10.9.9.9", lb), "198.51.100.1");
  EXPECT_EQ(client_ip(ip::make_address("::1"), " 2001:db8::5 ", lb), "2001:db8::5");
  EXPECT_EQ(client_ip(ip::make_address("10.1.2.3"), "", lb), "10.1.2.3");
  EXPECT_EQ(client_ip(ip::make_address("10.1.2.3"), "garbage", lb), "10.1.2.3");
  EXPECT_EQ(client_ip(ip::make_address("10.1.2.3"), "10.0.0.9, 10.0.0.8", lb), "10.0.0.9");
}

TEST(ClientAddress, NetworksMatchByPrefix) {
  TrustedProxies t({"192.168.1.0/24", "2001:db8::/32", "127.0.0.1"});
  EXPECT_TRUE(t.contains(ip::make_address("192.168.1.200")));
  EXPECT_FALSE(t.contains(ip::make_address("192.168.2.1")));
  EXPECT_TRUE(t.contains(ip::make_address("2001:db8:ffff::1")));
  EXPECT_FALSE(t.contains(ip::make_address("2001:db9::1")));
  EXPECT_TRUE(t.contains(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(t.contains(ip::make_address("127.0.0.2")));
  EXPECT_TRUE(t.contains(ip::make_address("::ffff:192.168.1.3")));  // v4-mapped
}

TEST(ClientAddress, MalformedEntriesAreRejected) {
  for (const char* bad : {"nope", "10.0.0.0/33", "10.0.0.0/", "::1/129", "10.0.0.0/x"})
    EXPECT_THROW(TrustedProxies({bad}), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace sb::service
