// bench/options.h — what one invocation of switchboard-bench measures, from its command line.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace sb::bench {

enum class Scenario { idle, relay, fanout, join_storm };

struct Options {
  Scenario scenario = Scenario::relay;
  std::string scenario_name = "relay";
  std::string target = "ws://127.0.0.1:8080/ws";
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
  int server_pid = 0;          // for RSS (idle)
  double setup_timeout_s = 60;
  bool check = false;  // exit 1 unless the run was clean and counted something

  // Parsed from `target`.
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;
  std::string path;
};

// Parses argv into `o`. Returns -1 to go on, otherwise the exit code (help, or a bad flag).
int parse_options(int argc, char** argv, Options& o);

}  // namespace sb::bench
