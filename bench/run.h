// bench/run.h — runs one scenario end to end: setup, warm-up, measurement, drain.
#pragma once

#include "options.h"
#include "redis_stats.h"
#include "stats.h"

namespace sb::bench {

struct Result {
  uint32_t connections = 0;  // peers asked for (rounded down to whole rooms)
  uint32_t ready = 0;        // peers that were connected, joined and knew their room
  uint32_t failed = 0;
  double setup_s = 0;
  double measured_s = 0;
  long long rss_before_kib = -1;  // idle: before the first connection
  long long rss_ready_kib = -1;   // idle: once everyone joined
  long long rss_end_kib = -1;     // idle: after holding them for --duration
  // CPU seconds spent while measuring: by the server (all its threads; -1
  // without --server-pid) and by this generator. Both share one machine, so a
  // server that needs less CPU per message leaves more to the generator.
  double server_cpu_s = -1;
  double gen_cpu_s = 0;
  // --redis: the commands the Redis ran and its CPU while measuring, or why
  // they could not be read.
  RedisDelta redis;
  std::string redis_error;
  Stats stats;
};

Result run_scenario(const Options& o);

}  // namespace sb::bench
