// The replay buffer's bounds and what it can replay; the resume store and its secret comparison.
#include "routing/replay_buffer.h"

#include <gtest/gtest.h>

#include "routing/resume_store.h"

namespace sb::routing {
namespace {

Body frame(size_t bytes) {
  return std::make_shared<const std::string>(std::string(bytes, 'x'));
}

std::vector<uint64_t> seqs(const std::vector<ReplayBuffer::Frame>& fs) {
  std::vector<uint64_t> out;
  for (const auto& f : fs) out.push_back(f.seq);
  return out;
}

TEST(ReplayBuffer, DisabledKeepsNothing) {
  ReplayBuffer b;
  EXPECT_EQ(b.push(1, frame(10)), 0u);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_TRUE(b.covers(1, 1));
  EXPECT_FALSE(b.covers(0, 1));
}

TEST(ReplayBuffer, KeepsTheNewestWithinTheMessageBound) {
  ReplayBuffer b;
  b.set_limits(3, 1 << 20);
  EXPECT_EQ(b.push(1, frame(10)), 0u);
  EXPECT_EQ(b.push(2, frame(10)), 0u);
  EXPECT_EQ(b.push(3, frame(10)), 0u);
  EXPECT_EQ(b.push(4, frame(10)), 1u);  // drops the oldest, reports its seq
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.bytes(), 30u);
  EXPECT_EQ(seqs(b.since(0)), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(seqs(b.since(2)), (std::vector<uint64_t>{3, 4}));
  EXPECT_TRUE(b.since(4).empty());
}

TEST(ReplayBuffer, ByteBoundDropsAsManyAsNeeded) {
  ReplayBuffer b;
  b.set_limits(100, 100);
  for (uint64_t s = 1; s <= 4; ++s) b.push(s, frame(25));
  EXPECT_EQ(b.bytes(), 100u);
  EXPECT_EQ(b.push(5, frame(60)), 3u);  // 1, 2 and 3 go
  EXPECT_EQ(seqs(b.since(0)), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(b.bytes(), 85u);
  // A frame bigger than the bound drops everything, itself included.
  EXPECT_EQ(b.push(6, frame(101)), 6u);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.bytes(), 0u);
}

TEST(ReplayBuffer, CoversOnlyWhatIsHeld) {
  ReplayBuffer b;
  b.set_limits(3, 0);
  for (uint64_t s = 1; s <= 5; ++s) b.push(s, frame(1));  // holds 3, 4, 5
  EXPECT_TRUE(b.covers(5, 5));                            // nothing missed
  EXPECT_TRUE(b.covers(4, 5));
  EXPECT_TRUE(b.covers(2, 5));   // 3, 4, 5 are here
  EXPECT_FALSE(b.covers(1, 5));  // 2 is gone
  EXPECT_FALSE(b.covers(6, 5));  // never sent
  EXPECT_FALSE(b.covers(0, 5));
}

TEST(ReplayBuffer, SharesBodiesWithoutCopying) {
  ReplayBuffer b;
  b.set_limits(10, 0);
  Body body = frame(8);
  b.push(1, body);
  EXPECT_EQ(b.since(0).front().body.get(), body.get());
}

// Limits are held in 32 bits: a larger one is taken as 2^32 - 1, never wrapped to a small one or 0.
TEST(ReplayBuffer, HugeLimitsSaturate) {
  ReplayBuffer b;
  b.set_limits(SIZE_MAX, (size_t{1} << 32) + 5);
  ASSERT_TRUE(b.enabled());
  for (uint64_t seq = 1; seq <= 100; ++seq) EXPECT_EQ(b.push(seq, frame(1000)), 0u);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_TRUE(b.covers(0, 100));
}

TEST(ResumeStore, PutGetErase) {
  LocalResumeStore s;
  SessionId id("s1");
  EXPECT_FALSE(s.get(id));
  s.put(id, {PeerId("p")});
  auto r = s.get(id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->peer, PeerId("p"));
  EXPECT_EQ(s.size(), 1u);
  s.erase(id);
  EXPECT_FALSE(s.get(id));
}

TEST(ResumeStore, SecretsEqual) {
  EXPECT_TRUE(secrets_equal("abc", "abc"));
  EXPECT_FALSE(secrets_equal("abc", "abd"));
  EXPECT_FALSE(secrets_equal("abc", "ab"));
  EXPECT_FALSE(secrets_equal("", "a"));
  EXPECT_TRUE(secrets_equal("", ""));
}

}  // namespace
}  // namespace sb::routing
