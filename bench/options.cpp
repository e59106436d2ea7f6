#include "options.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <map>

namespace sb::bench {

namespace {

// "a,b,c" → {"a", "b", "c"}; "" → {""}.
std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  size_t comma = s.find(',');
  while (comma != std::string::npos) {
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
    comma = s.find(',', start);
  }
  out.push_back(s.substr(start));
  return out;
}

// IPV4:PORT with a numeric address.
bool parse_host_port(const std::string& s, boost::asio::ip::tcp::endpoint& out) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address_v4(s.substr(0, colon), ec);
  if (ec) return false;
  unsigned long port = 0;
  try {
    port = std::stoul(s.substr(colon + 1));
  } catch (...) {
    return false;
  }
  if (port == 0 || port > 65535) return false;
  out = {addr, static_cast<uint16_t>(port)};
  return true;
}

// ws://HOST:PORT/PATH with a numeric IPv4 host.
bool parse_target(const std::string& url, Target& t) {
  const std::string prefix = "ws://";
  if (url.rfind(prefix, 0) != 0) return false;
  std::string rest = url.substr(prefix.size());
  const size_t slash = rest.find('/');
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  t.host_header = rest.substr(0, slash);
  return parse_host_port(t.host_header, t.endpoint);
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
  app.add_option(
      "--target", o.target,
      "ws://127.0.0.1:PORT/ws, or several URLs separated by commas: connection i goes to URL i % count");
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
  app.add_option("--source-addrs", o.source_addrs,
                 "loopback targets: connect from 127.0.0.1..N (0: one per 25k connections)")
      ->check(CLI::Range(0u, 254u));
  app.add_option(
      "--server-pid", o.server_pid,
      "server process(es), PID[,PID...]: CPU while measuring and RSS per connection (idle), summed");
  app.add_option("--redis", o.redis,
                 "IPV4:PORT of the Redis the servers share: its commands (INFO commandstats) and CPU are "
                 "counted while measuring");
  app.add_option("--setup-timeout", o.setup_timeout_s, "seconds allowed to connect and join everyone");
  app.add_flag("--check", o.check, "exit 1 unless the run counted something and saw no error");
  app.add_flag("--ack", o.ack, "relay, fanout: give every frame an id, so the server acks each");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.scenario = scenarios.at(o.scenario_name);
  for (const std::string& url : split_commas(o.target)) {
    Target t;
    if (!parse_target(url, t)) {
      std::cerr << "--target: expected ws://IPv4:PORT/PATH[,ws://...], got '" << url << "'\n";
      return 2;
    }
    o.targets.push_back(std::move(t));
  }
  if (!o.server_pid.empty()) {
    for (const std::string& pid : split_commas(o.server_pid)) {
      int v = 0;
      auto [end, ec] = std::from_chars(pid.data(), pid.data() + pid.size(), v);
      if (ec != std::errc() || end != pid.data() + pid.size() || v <= 0) {
        std::cerr << "--server-pid: expected PID[,PID...], got '" << o.server_pid << "'\n";
        return 2;
      }
      o.server_pids.push_back(v);
    }
  }
  if (!o.redis.empty()) {
    std::string hp = o.redis;
    if (hp.rfind("redis://", 0) == 0) hp = hp.substr(8);
    if (!parse_host_port(hp, o.redis_endpoint)) {
      std::cerr << "--redis: expected IPv4:PORT, got '" << o.redis << "'\n";
      return 2;
    }
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
