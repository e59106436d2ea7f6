// service/metrics.h — counters, gauges and histograms, exposed as Prometheus text.
//
// Nothing here is shared and contended on the relay path. Every event-loop
// shard owns one ShardMetrics block (on its own cache lines) and is the only
// thread that ever writes to it; a write is a relaxed load and store of an
// atomic (no lock, no read-modify-write bus lock: ~1 ns). A scrape (GET
// /metrics, any thread) reads every shard's block with relaxed loads and sums
// them, so it sees each counter at some recent value: counters never go
// backwards, but two counters read in one scrape need not be from the same
// instant. Cost of a scrape: O(shards x series), a few microseconds.
//
// Values that are not per-shard events come from callbacks at scrape time
// (rooms and peers from the Hub, webhook queue, process figures).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_verifier.h"
#include "proto/message.h"
#include "routing/bus.h"

namespace sb::service {

// A counter with one writer: the owning shard. Readers on other threads see a
// recent value. Writing from two threads would lose increments: don't.
class Counter {
 public:
  void inc(uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A fixed-bucket histogram with one writer. Bucket bounds are in seconds and
// shared by every instance of a kind (kLatencyBounds). observe() costs a short
// linear scan over the bounds plus three relaxed stores.
class Histogram {
 public:
  static constexpr size_t kBuckets = 16;  // finite bounds; +Inf is count
  using Bounds = std::array<double, kBuckets>;

  explicit Histogram(const Bounds& bounds) : bounds_(bounds) {}
  void observe(std::chrono::nanoseconds d) noexcept;

  const Bounds& bounds() const { return bounds_; }
  uint64_t bucket(size_t i) const { return buckets_[i].get(); }  // non-cumulative
  uint64_t count() const { return count_.get(); }
  uint64_t sum_ns() const { return sum_ns_.get(); }

 private:
  const Bounds& bounds_;
  std::array<Counter, kBuckets> buckets_{};
  Counter count_;
  Counter sum_ns_;
};

// 10 µs .. 1 s: relays normally take microseconds; a loop that stalls shows as the tail.
extern const Histogram::Bounds kLatencyBounds;

// Close codes the server reports, each with a fixed reason label. Index kOtherClose is everything else.
struct CloseCodeLabel {
  uint16_t code;
  const char* reason;
};
inline constexpr std::array<CloseCodeLabel, 12> kCloseCodes{{{1000, "normal"},
                                                             {1001, "going-away"},
                                                             {1002, "protocol-error"},
                                                             {1006, "abnormal"},
                                                             {1007, "bad-payload"},
                                                             {1008, "slow-reader"},
                                                             {1009, "too-big"},
                                                             {4400, "bad-request"},
                                                             {4401, "unauthorized"},
                                                             {4408, "heartbeat-timeout"},
                                                             {4429, "rate-limited"},
                                                             {0, "other"}}};
size_t close_code_index(uint16_t code);

inline constexpr size_t kMsgTypes = 10;     // proto::MsgType values
inline constexpr size_t kErrorCodes = 12;   // proto::ErrorCode values
inline constexpr size_t kTokenErrors = 11;  // auth::TokenError values (none = "missing" token)

// Everything one shard counts. Written only by that shard's thread.
struct alignas(64) ShardMetrics {
  ShardMetrics() : relay_latency(kLatencyBounds), loop_lag(kLatencyBounds) {}

  Counter connections_opened;                      // WebSocket upgrades completed
  std::array<Counter, kCloseCodes.size()> closed;  // by close code
  Counter sessions_started;                        // successful hello
  Counter sessions_ended;
  Counter sessions_resumed;                         // a hello with `resume` continued a session
  std::array<Counter, kMsgTypes> received;          // valid client messages, by type
  std::array<Counter, kMsgTypes> relayed;           // relay messages accepted for routing, by type
  std::array<Counter, kMsgTypes> delivered;         // relay frames handed to a recipient, by type
  Counter bytes_in;                                 // WebSocket payload bytes received
  Counter bytes_out;                                // WebSocket payload bytes sent
  std::array<Counter, kErrorCodes> errors;          // error messages sent, by code
  std::array<Counter, kTokenErrors> auth_failures;  // hello/refresh refused, by reason
  Histogram relay_latency;                          // frame received -> queued at the recipient
  Histogram loop_lag;                               // how late the shard's probe timer fired
};

// The webhook sender's figures: written by its thread only, except `dropped`
// (any shard, when the queue is full: a rare event, so an atomic add).
struct WebhookMetrics {
  Counter delivered;  // 2xx received
  Counter attempts;   // HTTP requests made (first tries and retries)
  Counter retries;
  Counter failed;                    // gave up after the last attempt
  std::atomic<uint64_t> dropped{0};  // queue full
  std::atomic<uint64_t> enqueued{0};
  std::function<uint64_t()> queued;  // events waiting or in flight
};

class Metrics final : public routing::BusObserver {
 public:
  explicit Metrics(uint32_t shards);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  ShardMetrics& shard(uint32_t i) { return *shards_[i]; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }

  WebhookMetrics& webhooks() { return webhooks_; }

  // routing::BusObserver, on the shard named.
  void relay_delivered(uint32_t shard, proto::MsgType type, routing::Clock::duration latency) override {
    ShardMetrics& m = *shards_[shard];
    m.delivered[static_cast<size_t>(type)].inc();
    m.relay_latency.observe(std::chrono::duration_cast<std::chrono::nanoseconds>(latency));
  }
  void relay_forbidden(uint32_t shard) override {
    shards_[shard]->errors[static_cast<size_t>(proto::ErrorCode::forbidden)].inc();
  }
  void peer_not_found(uint32_t shard) override {
    shards_[shard]->errors[static_cast<size_t>(proto::ErrorCode::peer_not_found)].inc();
  }

  // Scrape-time sources (set once at start-up, before any scrape).
  std::function<size_t()> rooms;
  std::function<size_t()> peers;
  std::function<bool()> ready;
  // Cluster mode only (null on a single node).
  struct ClusterFigures {
    double redis_rtt_s = 0;       // the last heartbeat round trip
    size_t nodes = 0;             // live nodes seen at the last heartbeat, this one included
    uint64_t redis_commands = 0;  // membership scripts and relay publishes sent
  };
  std::function<ClusterFigures()> cluster;

  // The whole exposition (text format 0.0.4). Thread-safe; see the header comment.
  std::string render() const;

 private:
  std::vector<std::unique_ptr<ShardMetrics>> shards_;
  WebhookMetrics webhooks_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
};

// Process figures from /proc/self (Linux); zeros elsewhere. Cheap: two small file reads.
struct ProcessStats {
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
  uint64_t threads = 0;
};
ProcessStats read_process_stats();

}  // namespace sb::service
