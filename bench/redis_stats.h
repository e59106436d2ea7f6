// bench/redis_stats.h — what the Redis behind a cluster did while the bench measured.
//
// Read with `INFO cpu commandstats` over a short-lived plain TCP connection
// (RESP needs no client library for one command): the calls of each command
// since the Redis started and its CPU seconds. Two samples, at the start and
// at the end of the measurement, give the commands the servers sent per
// relayed message. The samples' own INFO calls are left out of the counts.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <string>

namespace sb::bench {

struct RedisSample {
  std::string error;                      // empty when the sample was read
  std::map<std::string, uint64_t> calls;  // command (as in cmdstat_NAME, e.g. "publish", "eval") → calls
  double cpu_s = -1;                      // used_cpu_user + used_cpu_sys, every Redis thread
};

// Connects to `at`, sends INFO cpu commandstats and parses the reply. Blocking,
// one loopback round trip; gives up after 5 s (connect, send or receive) and
// says why in `error`.
RedisSample sample_redis(const boost::asio::ip::tcp::endpoint& at);

struct RedisDelta {
  std::map<std::string, uint64_t> calls;  // commands run between the samples, INFO excluded; zeros left out
  uint64_t total = 0;                     // their sum
  double cpu_s = -1;                      // Redis CPU seconds between the samples
};

// `after` minus `before`. Pure.
RedisDelta redis_delta(const RedisSample& before, const RedisSample& after);

}  // namespace sb::bench
