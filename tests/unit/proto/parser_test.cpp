#include "proto/parser.h"

#include <gtest/gtest.h>

namespace sb::proto {
namespace {

struct Parsed {
  bool ok;
  ClientMessage msg;
  ParseError err;
};

class ParserTest : public ::testing::Test {
 protected:
  Parsed parse(std::string_view frame) {
    Parsed p{};
    p.ok = parser.parse(frame, p.msg, p.err);
    return p;
  }
  void expect_bad(std::string_view frame, ErrorCode code = ErrorCode::bad_request) {
    Parsed p = parse(frame);
    EXPECT_FALSE(p.ok) << frame;
    EXPECT_EQ(p.err.code, code) << frame << " -> " << p.err.message;
    EXPECT_FALSE(p.err.message.empty());
  }
  Parser parser;
};

TEST_F(ParserTest, Hello) {
  Parsed p = parse(R"({"type":"hello","token":"abc.def.ghi"})");
  ASSERT_TRUE(p.ok) << p.err.message;
  EXPECT_EQ(p.msg.type, MsgType::hello);
  EXPECT_EQ(p.msg.token, "abc.def.ghi");
  EXPECT_TRUE(p.msg.id.empty());
}

TEST_F(ParserTest, HelloWithResume) {
  Parsed p = parse(
      R"({"type":"hello","id":1,"resume":{"session":"s\u0031","resume_token":"t0k","last_seq":42,"x":[1]},"token":"a"})");
  ASSERT_TRUE(p.ok) << p.err.message;
  EXPECT_TRUE(p.msg.has_resume);
  EXPECT_EQ(p.msg.resume_session, "s1");
  EXPECT_EQ(p.msg.resume_token, "t0k");
  EXPECT_EQ(p.msg.resume_last_seq, 42u);
  EXPECT_EQ(p.msg.token, "a");
  EXPECT_EQ(p.msg.id, "1");
  Parsed zero = parse(R"({"type":"hello","resume":{"last_seq":0,"resume_token":"t","session":"s"}})");
  ASSERT_TRUE(zero.ok) << zero.err.message;
  EXPECT_EQ(zero.msg.resume_last_seq, 0u);
  EXPECT_FALSE(parse(R"({"type":"hello"})").msg.has_resume);
}

TEST_F(ParserTest, HelloWithBadResumeIsABadRequest) {
  for (
      const char* f : {
          R"({"type":"hello","resume":"s"})",
          R"({"type":"hello","resume":{}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":"t"}})",
          R"({"type":"hello","resume":{"session":"s","last_seq":1}})",
          R"({"type":"hello","resume":{"resume_token":"t","last_seq":1}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":"t","last_seq":-1}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":"t","last_seq":1.0}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":"t","last_seq":1e3}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":"t","last_seq":"1"}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":"t","last_seq":99999999999999999999999}})",
          R"({"type":"hello","resume":{"session":"","resume_token":"t","last_seq":1}})",
          R"({"type":"hello","resume":{"session":1,"resume_token":"t","last_seq":1}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":null,"last_seq":1}})",
          R"({"type":"hello","resume":{"session":"s","resume_token":"t","last_seq":1,"x":tru}})",
      })
    expect_bad(f);
  const std::string long_session(65, 'a');
  expect_bad(R"({"type":"hello","resume":{"session":")" + long_session +
             R"(","resume_token":"t","last_seq":1}})");
  Parsed p = parse(R"({"type":"hello","id":"h","resume":{"session":"s"}})");
  EXPECT_EQ(p.err.id, R"("h")");  // the error still carries the id
}

TEST_F(ParserTest, HelloWithoutTokenIsValid) {
  Parsed p = parse(R"({"type":"hello"})");
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.msg.token.empty());
}

TEST_F(ParserTest, FieldOrderDoesNotMatter) {
  Parsed p = parse(R"({"data":{"a":1},"to":"p2","room":"r","type":"offer","id":3})");
  ASSERT_TRUE(p.ok) << p.err.message;
  EXPECT_EQ(p.msg.type, MsgType::offer);
  EXPECT_EQ(p.msg.room, "r");
  EXPECT_EQ(p.msg.to, "p2");
  EXPECT_EQ(p.msg.data, R"({"a":1})");
  EXPECT_EQ(p.msg.id, "3");
}

TEST_F(ParserTest, DataIsKeptByteForByte) {
  const std::string data =
      "{ \"sdp\" :  \"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\",\n\t\"type\":\"offer\" , \"x\":[1, "
      "2.50,null] }";
  Parsed p = parse(R"({"type":"offer","room":"r","to":"p","data":)" + data + "  }");
  ASSERT_TRUE(p.ok) << p.err.message;
  EXPECT_EQ(p.msg.data, data);
}

TEST_F(ParserTest, ScalarDataIsKeptExactly) {
  for (std::string data : {R"("hi \u00e9 \"q\"")", "12.50e3", "-0", "true", "false", "null", "[]", "{}"}) {
    Parsed p = parse(R"({"type":"message","room":"r","data":)" + data + " }");
    ASSERT_TRUE(p.ok) << data << ": " << p.err.message;
    EXPECT_EQ(p.msg.data, data);
  }
}

TEST_F(ParserTest, IdMayBeAStringOrAnInteger) {
  EXPECT_EQ(parse(R"({"type":"ping","id":"a-1"})").msg.id, R"("a-1")");
  EXPECT_EQ(parse(R"({"type":"ping","id":42})").msg.id, "42");
  EXPECT_EQ(parse(R"({"type":"ping","id":-7})").msg.id, "-7");
  EXPECT_TRUE(parse(R"({"type":"ping","id":")" + std::string(64, 'x') + "\"}").ok);
}

TEST_F(ParserTest, BadIdsAreRejected) {
  expect_bad(R"({"type":"ping","id":1.5})");
  expect_bad(R"({"type":"ping","id":1e3})");
  expect_bad(R"({"type":"ping","id":true})");
  expect_bad(R"({"type":"ping","id":{}})");
  expect_bad(R"({"type":"ping","id":")" + std::string(65, 'x') + "\"}");
  expect_bad(R"({"type":"ping","id":)" + std::string(65, '1') + "}");
}

TEST_F(ParserTest, IdIsReportedWithLaterErrors) {
  Parsed p = parse(R"({"id":"x","type":"join","room":"bad room"})");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.err.id, R"("x")");
}

TEST_F(ParserTest, NotJsonOrNotAnObject) {
  expect_bad("");
  expect_bad("nonsense");
  expect_bad("[1,2]");
  expect_bad("\"type\"");
  expect_bad("42");
  expect_bad(R"({"type":"ping")");
  expect_bad(R"({"type":"ping"} {})");
  expect_bad(R"({"type":"ping"} x)");
  expect_bad(R"({"type":"ping",})");
}

TEST_F(ParserTest, TypeMustBeAKnownString) {
  expect_bad(R"({"room":"r"})");
  expect_bad(R"({"type":7})");
  expect_bad(R"({"type":"teleport"})");
  expect_bad(R"({"type":"welcome"})");
}

TEST_F(ParserTest, RequiredFieldsPerType) {
  expect_bad(R"({"type":"join"})");
  expect_bad(R"({"type":"leave"})");
  expect_bad(R"({"type":"update","room":"r"})");
  expect_bad(R"({"type":"offer","room":"r","data":{}})");              // no to
  expect_bad(R"({"type":"answer","room":"r","data":{}})");             // no to
  expect_bad(R"({"type":"ice-candidate","room":"r","data":{}})");      // no to
  expect_bad(R"({"type":"offer","room":"r","to":"p"})");               // no data
  expect_bad(R"({"type":"message","room":"r"})");                      // no data
  EXPECT_TRUE(parse(R"({"type":"message","room":"r","data":1})").ok);  // to optional
}

TEST_F(ParserTest, WrongTypedFields) {
  expect_bad(R"({"type":"join","room":5})");
  expect_bad(R"({"type":"offer","room":"r","to":5,"data":1})");
  expect_bad(R"({"type":"hello","token":5})");
  expect_bad(R"({"type":"join","room":"r","metadata":[1]})");
  expect_bad(R"({"type":"join","room":"r","metadata":"x"})");
  expect_bad(R"({"type":"offer","room":"r","to":"","data":1})");
}

TEST_F(ParserTest, RoomNamesAreValidated) {
  expect_bad(R"({"type":"join","room":""})");
  expect_bad(R"({"type":"join","room":"a b"})");
  expect_bad(R"({"type":"join","room":")" + std::string(65, 'r') + "\"}");
  EXPECT_TRUE(parse(R"({"type":"join","room":")" + std::string(64, 'r') + "\"}").ok);
  // An escaped name is checked after unescaping.
  EXPECT_EQ(parse(R"({"type":"join","room":"\u0041b"})").msg.room, "Ab");
  expect_bad(R"({"type":"join","room":"a\u0000"})");
}

TEST_F(ParserTest, MetadataIsAnObjectOfAtMost4KiB) {
  Parsed p = parse(R"({"type":"join","room":"r","metadata":{"mic":true}})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.msg.metadata, R"({"mic":true})");
  const std::string ok_meta = R"({"k":")" + std::string(4096 - 8, 'x') + "\"}";
  ASSERT_EQ(ok_meta.size(), 4096u);
  EXPECT_TRUE(parse(R"({"type":"join","room":"r","metadata":)" + ok_meta + "}").ok);
  const std::string big = R"({"k":")" + std::string(4096, 'x') + "\"}";
  expect_bad(R"({"type":"join","room":"r","metadata":)" + big + "}", ErrorCode::too_large);
}

TEST_F(ParserTest, InvalidRelayedValuesNeverPass) {
  // On Demand would skip these lazily; the relayed value is validated in full.
  expect_bad(R"({"type":"message","room":"r","data":[1,,2]})");
  expect_bad(R"({"type":"message","room":"r","data":{"a" 1}})");
  expect_bad(R"({"type":"message","room":"r","data":{"a":tru}})");
  expect_bad(R"({"type":"message","room":"r","data":{"a":"\x"}})");
  expect_bad(R"({"type":"message","room":"r","data":01})");
  expect_bad(R"({"type":"message","room":"r","data":[1}]})");
  expect_bad(R"({"type":"join","room":"r","metadata":{"a":[}})");
}

TEST_F(ParserTest, DeepNestingIsRejected) {
  std::string deep = std::string(200, '[') + std::string(200, ']');
  expect_bad(R"({"type":"message","room":"r","data":)" + deep + "}");
  std::string ok = std::string(32, '[') + std::string(32, ']');
  EXPECT_TRUE(parse(R"({"type":"message","room":"r","data":)" + ok + "}").ok);
}

TEST_F(ParserTest, InvalidUtf8IsRejected) {
  expect_bad(std::string("{\"type\":\"message\",\"room\":\"r\",\"data\":\"\xff\xfe\"}"));
  expect_bad(std::string("{\"type\":\"message\",\"room\":\"r\",\"data\":\"\xc3\"}"));
}

TEST_F(ParserTest, HugeNumbersAndStringsDoNotBreakIt) {
  EXPECT_TRUE(parse(R"({"type":"message","room":"r","data":)" + std::string(300, '9') + "}").ok ||
              true);  // accepted or rejected, but never a crash
  const std::string s(60000, 'a');
  Parsed p = parse(R"({"type":"message","room":"r","data":")" + s + "\"}");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.msg.data.size(), s.size() + 2);
}

TEST_F(ParserTest, UnknownFieldsAreIgnoredIncludingASpoofedFrom) {
  Parsed p = parse(R"({"type":"message","room":"r","from":"someone-else","seq":9,"x":{"y":[1]},"data":1})");
  ASSERT_TRUE(p.ok) << p.err.message;
  EXPECT_EQ(p.msg.data, "1");
}

TEST_F(ParserTest, ViewsAreIntoTheCallersBuffer) {
  std::string buf = R"({"type":"message","room":"r","data":{"x":1}})";
  const size_t len = buf.size();
  buf.append(Parser::kPadding, ' ');
  ClientMessage m;
  ParseError e;
  ASSERT_TRUE(parser.parse(buf.data(), len, buf.size(), m, e));
  EXPECT_GE(m.data.data(), buf.data());
  EXPECT_LT(m.data.data(), buf.data() + len);
}

TEST_F(ParserTest, RefusesAnUnpaddedBuffer) {
  std::string buf = R"({"type":"ping"})";
  ClientMessage m;
  ParseError e;
  EXPECT_FALSE(parser.parse(buf.data(), buf.size(), buf.size(), m, e));
  EXPECT_EQ(e.code, ErrorCode::internal);
}

TEST_F(ParserTest, ParserIsReusable) {
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(parse(R"({"type":"message","room":"r","data":[)" + std::to_string(i) + "]}").ok);
    ASSERT_FALSE(parse("{bad").ok);
  }
}

}  // namespace
}  // namespace sb::proto

namespace sb::proto {
namespace {

TEST_F(ParserTest, ErrorsCarryAnIdThatComesAfterTheBadField) {
  for (std::string frame : {R"({"type":"join","room":5,"id":"last"})", R"({"type":7,"id":"last"})",
                            R"({"type":"join","room":"r","metadata":[],"id":"last"})"}) {
    Parsed p = parse(frame);
    ASSERT_FALSE(p.ok) << frame;
    EXPECT_EQ(p.err.id, R"("last")") << frame;
  }
  Parsed big =
      parse(R"({"type":"join","room":"r","metadata":{"k":")" + std::string(5000, 'x') + R"("},"id":3})");
  EXPECT_EQ(big.err.code, ErrorCode::too_large);
  EXPECT_EQ(big.err.id, "3");
}

TEST_F(ParserTest, NumbersBeyondDoubleAndInt64AreValidData) {
  for (std::string data :
       {"123456789012345678901234567890", "1e400", "-1E-400", "[1e999,{\"a\":18446744073709551616}]"}) {
    Parsed p = parse(R"({"type":"message","room":"r","data":)" + data + "}");
    ASSERT_TRUE(p.ok) << data << ": " << p.err.message;
    EXPECT_EQ(p.msg.data, data);
  }
}

TEST_F(ParserTest, RefreshNeedsAToken) {
  Parsed p = parse(R"({"type":"refresh","token":"a.b.c"})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.msg.type, MsgType::refresh);
  expect_bad(R"({"type":"refresh"})");
}

}  // namespace
}  // namespace sb::proto
