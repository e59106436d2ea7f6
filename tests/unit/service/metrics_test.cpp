// Metrics: per-shard counters summed at scrape time, histogram buckets, and
// the exposition text (promtool checks the real output in the integration tests).
#include "service/metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

namespace sb::service {
namespace {

// The value of the sample line `name{labels}` (exact text before the space), or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

TEST(Metrics, CountersAreSummedOverShards) {
  Metrics m(3);
  m.shard(0).connections_opened.inc();
  m.shard(2).connections_opened.inc(2);
  m.shard(1).closed[close_code_index(1000)].inc();
  m.shard(1).relayed[static_cast<size_t>(proto::MsgType::offer)].inc(5);
  m.shard(2).relayed[static_cast<size_t>(proto::MsgType::offer)].inc(1);
  m.shard(0).errors[static_cast<size_t>(proto::ErrorCode::room_full)].inc();
  m.shard(0).auth_failures[static_cast<size_t>(auth::TokenError::expired)].inc(2);
  m.shard(0).bytes_in.inc(100);
  m.rooms = [] { return size_t{4}; };
  m.peers = [] { return size_t{9}; };
  const std::string t = m.render();
  EXPECT_EQ(sample(t, "switchboard_connections_opened_total"), 3);
  EXPECT_EQ(sample(t, "switchboard_connections"), 2);
  EXPECT_EQ(sample(t, R"(switchboard_connections_closed_total{code="1000",reason="normal"})"), 1);
  EXPECT_EQ(sample(t, R"(switchboard_connections_closed_total{code="4401",reason="unauthorized"})"), 0);
  EXPECT_EQ(sample(t, R"(switchboard_messages_relayed_total{type="offer"})"), 6);
  EXPECT_EQ(sample(t, R"(switchboard_messages_relayed_total{type="ice-candidate"})"), 0);
  EXPECT_EQ(sample(t, R"(switchboard_messages_relayed_total{type="hello"})"), -1) << "not a relay type";
  EXPECT_EQ(sample(t, R"(switchboard_messages_received_total{type="hello"})"), 0);
  EXPECT_EQ(sample(t, R"(switchboard_errors_sent_total{code="room-full"})"), 1);
  EXPECT_EQ(sample(t, R"(switchboard_auth_failures_total{reason="expired"})"), 2);
  EXPECT_EQ(sample(t, R"(switchboard_auth_failures_total{reason="missing"})"), 0);
  EXPECT_EQ(sample(t, "switchboard_websocket_received_bytes_total"), 100);
  EXPECT_EQ(sample(t, "switchboard_rooms"), 4);
  EXPECT_EQ(sample(t, "switchboard_room_peers"), 9);
  EXPECT_EQ(sample(t, "switchboard_event_loops"), 3);
}

TEST(Metrics, UnknownCloseCodesCountAsOther) {
  EXPECT_EQ(kCloseCodes[close_code_index(3999)].reason, std::string("other"));
  EXPECT_EQ(kCloseCodes[close_code_index(4408)].code, 4408);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Metrics m(2);
  using std::chrono::microseconds;
  m.shard(0).relay_latency.observe(microseconds(5));          // <= 10 µs
  m.shard(1).relay_latency.observe(microseconds(30));         // <= 50 µs
  m.shard(1).relay_latency.observe(microseconds(2000));       // <= 2.5 ms
  m.shard(0).relay_latency.observe(std::chrono::seconds(3));  // only +Inf
  const std::string t = m.render();
  EXPECT_EQ(sample(t, R"(switchboard_relay_latency_seconds_bucket{le="1e-05"})"), 1);
  EXPECT_EQ(sample(t, R"(switchboard_relay_latency_seconds_bucket{le="2.5e-05"})"), 1);
  EXPECT_EQ(sample(t, R"(switchboard_relay_latency_seconds_bucket{le="5e-05"})"), 2);
  EXPECT_EQ(sample(t, R"(switchboard_relay_latency_seconds_bucket{le="0.0025"})"), 3);
  EXPECT_EQ(sample(t, R"(switchboard_relay_latency_seconds_bucket{le="1"})"), 3);
  EXPECT_EQ(sample(t, R"(switchboard_relay_latency_seconds_bucket{le="+Inf"})"), 4);
  EXPECT_EQ(sample(t, "switchboard_relay_latency_seconds_count"), 4);
  EXPECT_NEAR(sample(t, "switchboard_relay_latency_seconds_sum"), 3.002035, 1e-9);
  EXPECT_EQ(sample(t, R"(switchboard_event_loop_lag_seconds_count{shard="1"})"), 0);
}

TEST(Metrics, EveryFamilyHasHelpAndTypeBeforeItsSamples) {
  Metrics m(1);
  const std::string t = m.render();
  std::istringstream in(t);
  std::string current;
  std::set<std::string> seen;
  // A sample line: NAME[{LABELS}] VALUE. (No std::regex: GCC 12 warns falsely inside it under ASan.)
  auto sample_name = [](const std::string& line) -> std::string {
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos || sp + 1 == line.size()) return {};
    char* end = nullptr;
    const std::string value = line.substr(sp + 1);
    if (value != "+Inf") {
      std::strtod(value.c_str(), &end);
      if (*end != '\0') return {};
    }
    std::string head = line.substr(0, sp);
    if (const size_t brace = head.find('{'); brace != std::string::npos) {
      if (head.back() != '}') return {};
      head.resize(brace);
    }
    if (head.empty() || std::isdigit(static_cast<unsigned char>(head[0]))) return {};
    for (char c : head)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return {};
    return head;
  };
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(seen.insert(current).second) << "family twice: " << current;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(line.substr(7, current.size()), current);
      continue;
    }
    const std::string name = sample_name(line);
    ASSERT_FALSE(name.empty()) << "not a sample line: " << line;
    EXPECT_EQ(name.rfind(current, 0), 0u) << name << " outside its family " << current;
  }
  EXPECT_TRUE(seen.count("process_cpu_seconds_total"));
  EXPECT_TRUE(seen.count("switchboard_webhooks_dropped_total"));
}

TEST(Metrics, ProcessStatsAreReadOnLinux) {
  ProcessStats p = read_process_stats();
  EXPECT_GT(p.resident_bytes, 0u);
  EXPECT_GT(p.open_fds, 0u);
  EXPECT_GE(p.threads, 1u);
}

}  // namespace
}  // namespace sb::service
