#include "options.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

namespace sb::bench {

namespace {

// ws://HOST:PORT/PATH with a numeric IPv4 host (the bench only talks to loopback).
bool parse_target(Options& o) {
  const std::string prefix = "ws://";
  if (o.target.rfind(prefix, 0) != 0) return false;
  std::string rest = o.target.substr(prefix.size());
  const size_t slash = rest.find('/');
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  o.host_header = rest.substr(0, slash);
  const size_t colon = o.host_header.rfind(':');
  if (colon == std::string::npos) return false;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address_v4(o.host_header.substr(0, colon), ec);
  if (ec) return false;
  unsigned long port = 0;
  try {
    port = std::stoul(o.host_header.substr(colon + 1));
  } catch (...) {
    return false;
  }
  if (port == 0 || port > 65535) return false;
  o.endpoint = {addr, static_cast<uint16_t>(port)};
  return true;
}

}  // namespace

int parse_options(int argc, char** argv, Options& o) {
  CLI::App app{
      "switchboard-bench: protocol v1 load generator (idle, relay, fanout, join-storm). Prints one JSON line "
      "per run on stdout and a summary on stderr."};
  // A later flag wins over an earlier one, so a script can put overrides last.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  const std::map<std::string, Scenario> scenarios{{"idle", Scenario::idle},
                                                  {"relay", Scenario::relay},
                                                  {"fanout", Scenario::fanout},
                                                  {"join-storm", Scenario::join_storm}};
  app.add_option("--scenario", o.scenario_name, "idle | relay | fanout | join-storm")
      ->check(CLI::IsMember({"idle", "relay", "fanout", "join-storm"}));
  app.add_option("--target", o.target, "ws://127.0.0.1:PORT/ws");
  app.add_option("--secret", o.secret, "HS256 secret the server verifies tokens with")->required();
  app.add_option("--label", o.label, "name of the server under test, copied to the output");
  app.add_option("-n,--connections", o.connections, "connections (idle, relay, fanout)");
  app.add_option("--threads", o.threads, "generator threads (event loops)")->check(CLI::Range(1u, 64u));
  app.add_option("--duration", o.duration_s, "measured seconds")->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", o.warmup_s, "seconds of traffic before measuring")
      ->check(CLI::Range(0.0, 120.0));
  app.add_option("--room-size", o.room_size, "peers per room (default 2; fanout 10)");
  app.add_option("--rate", o.rate, "messages/s in total (relay, fanout); 0 = flat out within --window");
  app.add_option("--window", o.window, "messages in flight per sending connection")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--size", o.size, "bytes per sent frame (default relay 1024, fanout 256)");
  app.add_option("--concurrency", o.concurrency, "connection attempts in flight (setup, join-storm)")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--source-addrs", o.source_addrs, "bind to 127.0.0.1..N (0: one per 25k connections)")
      ->check(CLI::Range(0u, 254u));
  app.add_option("--server-pid", o.server_pid, "server process, for RSS per connection (idle)");
  app.add_option("--setup-timeout", o.setup_timeout_s, "seconds allowed to connect and join everyone");
  app.add_flag("--check", o.check, "exit 1 unless the run counted something and saw no error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.scenario = scenarios.at(o.scenario_name);
  if (!parse_target(o)) {
    std::cerr << "--target: expected ws://IPv4:PORT/PATH, got '" << o.target << "'\n";
    return 2;
  }
  if (o.room_size == 0) o.room_size = o.scenario == Scenario::fanout ? 10 : 2;
  if (o.room_size < 2) {
    std::cerr << "--room-size must be at least 2\n";
    return 2;
  }
  if (o.size == 0) o.size = o.scenario == Scenario::fanout ? 256 : 1024;
  if (o.source_addrs == 0) o.source_addrs = std::min(254u, o.connections / 25000 + 1);
  if (o.scenario == Scenario::join_storm && o.source_addrs < 4) o.source_addrs = 4;  // churn uses many ports
  return -1;
}

}  // namespace sb::bench
