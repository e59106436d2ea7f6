// bench/worker.h — one generator thread: an event loop and the connections it drives.
//
// Rooms are dealt to workers whole (room r goes to worker r % threads), so a
// sender and every receiver of its messages live on the same thread: the
// in-flight window and the latency clock need no locks or atomics. The main
// thread steers the phases (setup, warm-up, measure, drain) through one
// atomic and posted calls; each worker keeps its own Stats.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "options.h"
#include "stats.h"
#include "ws_client.h"

namespace sb::bench {

enum Phase : int { kSetup = 0, kWarmup = 1, kMeasure = 2, kDrain = 3 };

// State shared by the main thread and every worker.
struct Shared {
  std::atomic<int> phase{kSetup};
  std::atomic<uint32_t> ready{0};   // setup: peers joined and knowing their room
  std::atomic<uint32_t> failed{0};  // setup: peers that could not get there
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  std::string room_prefix;  // unique per run, so runs against one server never share rooms

  uint64_t now_ns() const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  }
};

// One connection's protocol state.
struct Peer {
  std::shared_ptr<WsClient> ws;
  uint32_t index = 0;  // global connection number (join-storm: the slot)
  uint32_t room = 0;   // global room number
  std::string room_name;
  std::vector<std::string> others;  // peer ids of the other members of the room
  uint64_t next_seq = 1;
  uint64_t started_ns = 0;  // join-storm: when this attempt began
  uint32_t inflight = 0;    // sent and not yet delivered to every recipient
  uint32_t next_to = 0;     // relay in rooms > 2: round robin over the others
  uint32_t attempts = 0;    // join-storm: attempts made by this slot
  bool joined = false;
  bool ready = false;
  bool gave_up = false;  // setup failed for it or for a member of its room
};

class Worker final : public WsClient::Handler {
 public:
  Worker(const Options& o, Shared& shared, unsigned index);
  ~Worker();

  void start_thread();
  void join_thread();

  // Each posts to the worker's loop.
  void begin_setup();    // connect, hello and join this worker's peers
  void begin_traffic();  // relay / fanout: start sending; join-storm: start churning
  void end();            // drop every connection and let the loop finish

  uint32_t peer_count() const { return static_cast<uint32_t>(peers_.size()); }
  const Stats& stats() const { return stats_; }

 private:
  // WsClient::Handler
  void on_open(WsClient& c) override;
  void on_text(WsClient& c, std::string_view msg) override;
  void on_closed(WsClient& c, std::string_view why, uint16_t close_code) override;

  // Setup (worker.cpp)
  // To target seed % targets; from 127.0.0.(1 + seed % source_addrs) when that target is on loopback.
  void connect(Peer& p, uint32_t seed);
  void setup_more();
  void setup_done(Peer& p, bool ok);
  void give_up_room(Peer& p);
  void check_ready(Peer& p);
  void on_joined(Peer& p, std::string_view peers_json);

  // Relay and fanout traffic (traffic.cpp)
  bool can_send(const Peer& p) const;
  void send_one(Peer& p);
  void fill_window(Peer& p);
  void on_delivery(Peer& to, std::string_view data);
  void rate_tick();
  Peer* local_peer(uint64_t global_index);

  // Join storm (join_storm.cpp)
  void storm_attempt(Peer& slot);
  void storm_joined(Peer& slot);
  void storm_retry(Peer& slot);

  bool measuring() const { return shared_.phase.load(std::memory_order_relaxed) == kMeasure; }
  bool sending() const { return shared_.phase.load(std::memory_order_relaxed) <= kMeasure; }

  const Options& o_;
  Shared& shared_;
  unsigned index_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::vector<char> scratch_;
  std::vector<Peer> peers_;
  std::vector<std::string> upgrade_requests_;  // one per target
  std::string pad_;                            // filler for `data`, JSON-safe (SDP-like for offers)
  std::string frame_;                          // the frame being built
  Stats stats_;

  // Setup progress.
  uint32_t next_setup_ = 0;
  uint32_t in_setup_ = 0;
  uint32_t setup_concurrency_ = 1;

  // Rate mode.
  boost::asio::steady_timer tick_{io_};
  std::chrono::steady_clock::time_point traffic_start_{};
  uint64_t due_sent_ = 0;  // sends accounted for (made or skipped) since traffic began
  uint32_t cursor_ = 0;
  uint64_t next_id_ = 1;  // --ack: the id of the next relayed frame

  // Join storm.
  uint64_t storm_counter_ = 0;
};

}  // namespace sb::bench
