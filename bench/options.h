// bench/options.h — what one invocation of switchboard-bench measures, from its command line.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace sb::bench {

enum class Scenario { idle, relay, fanout, join_storm };

// One server URL of --target, parsed.
struct Target {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;
  std::string path;
};

struct Options {
  Scenario scenario = Scenario::relay;
  std::string scenario_name = "relay";
  std::string target = "ws://127.0.0.1:8080/ws";  // one URL, or several separated by commas
  std::string secret;
  std::string label = "server";  // names the server under test in the output
  unsigned connections = 200;
  unsigned threads = 1;
  double duration_s = 5;
  double warmup_s = 1;
  unsigned room_size = 0;      // 0: the scenario's default (2; fanout 10)
  double rate = 0;             // messages/s in total; 0 = flat out within the window
  unsigned window = 8;         // messages in flight per sending connection
  unsigned size = 0;           // bytes per client frame; 0: the scenario's default (relay 1024, fanout 256)
  unsigned concurrency = 128;  // connection attempts in flight during setup and join-storm
  unsigned source_addrs = 0;   // 127.0.0.1..N; 0: enough for the connection count
  std::string server_pid;      // PID[,PID...]: server processes, for CPU (summed) and RSS (idle, summed)
  std::string redis;           // HOST:PORT of the Redis the servers share: commands counted while measuring
  double setup_timeout_s = 60;
  bool check = false;  // exit 1 unless the run was clean and counted something
  bool ack = false;    // relay/fanout frames carry an `id`, so the server answers each with `ack`

  // Parsed from `target`: peer i (its global connection number) connects to
  // targets[i % targets.size()], so with several servers the members of a room
  // (consecutive numbers) sit on different servers whenever the room is no
  // larger than the list.
  std::vector<Target> targets;
  // Parsed from `server_pid`.
  std::vector<int> server_pids;
  // Parsed from `redis`.
  boost::asio::ip::tcp::endpoint redis_endpoint;
};

// Parses argv into `o`. Returns -1 to go on, otherwise the exit code (help, or a bad flag).
int parse_options(int argc, char** argv, Options& o);

}  // namespace sb::bench
