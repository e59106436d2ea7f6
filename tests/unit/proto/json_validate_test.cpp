#include "proto/json_validate.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::proto {
namespace {

TEST(JsonValidate, AcceptsEveryKindOfValue) {
  for (const char* ok : {"0", "-0", "1.5", "-1.25e+10", "1E-2", "1e400", "123456789012345678901234567890",
                         "true", "false", "null", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\"", "[]",
                         "{}", " [ 1 , 2 ] ", "{\"a\":{\"b\":[null,{}]}}", "\"é☎\""})
    EXPECT_TRUE(json_valid(ok, 64)) << ok;
}

TEST(JsonValidate, RejectsWhatIsNotJson) {
  for (const char* bad : {"",        " ",         "01",          "-",        "1.",         ".5",    "1e",
                          "+1",      "0x10",      "NaN",         "Infinity", "tru",        "nul",   "[1,]",
                          "[,1]",    "{\"a\"}",   "{\"a\":}",    "{a:1}",    "{\"a\":1,}", "[1 2]", "\"abc",
                          "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "1 2",      "[]]",        "{}}",   "'a'"})
    EXPECT_FALSE(json_valid(bad, 64)) << bad;
  EXPECT_FALSE(json_valid(std::string("\"a\x01\""), 64));
  EXPECT_FALSE(json_valid(std::string("\"a\nb\""), 64));
}

TEST(JsonValidate, EnforcesTheDepthLimit) {
  EXPECT_TRUE(json_valid(std::string(64, '[') + std::string(64, ']'), 64));
  EXPECT_FALSE(json_valid(std::string(65, '[') + std::string(65, ']'), 64));
  EXPECT_FALSE(json_valid(std::string(100000, '['), 64));  // no stack overflow on hostile input
}

}  // namespace
}  // namespace sb::proto
