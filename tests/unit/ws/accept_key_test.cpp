#include "ws/accept_key.h"

#include <gtest/gtest.h>

namespace sb::ws {
namespace {

TEST(AcceptKey, TheRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(AcceptKey, ClientKeyIsBase64Of16Bytes) {
  EXPECT_TRUE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_FALSE(valid_client_key(""));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));   // 23 characters
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=x"));  // no padding
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZ!=="));  // not base64
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));  // low bits set: not 16 bytes
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==AAAA"));
}

}  // namespace
}  // namespace sb::ws
