#include "run.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "proc_stats.h"
#include "worker.h"

namespace sb::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void sleep_s(double s) {
  if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// Every run ends by itself: if something hangs (a server that never answers,
// a bug here), the process is ended this long after the planned finish.
void start_watchdog(double planned_s) {
  std::thread([planned_s] {
    sleep_s(planned_s + 30);
    std::fputs("switchboard-bench: watchdog: run did not finish in time, exiting\n", stderr);
    std::_Exit(3);
  }).detach();
}

// CPU seconds (user + system) of this process, every thread.
double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

std::string random_prefix() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "b";
  for (int i = 0; i < 6; ++i) s.push_back(kHex[rd() % 16]);
  return s;
}

}  // namespace

Result run_scenario(const Options& o) {
  const bool storm = o.scenario == Scenario::join_storm;
  const bool idle = o.scenario == Scenario::idle;
  start_watchdog(o.setup_timeout_s + o.warmup_s + o.duration_s + 2);

  Shared shared;
  shared.room_prefix = random_prefix();
  Result r;
  r.connections = storm ? 0 : o.connections / o.room_size * o.room_size;

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<Worker>(o, shared, i));
  if (idle) r.rss_before_kib = read_rss_kib(o.server_pids);
  for (auto& w : workers) w->start_thread();

  if (!storm) {
    const auto t = Clock::now();
    for (auto& w : workers) w->begin_setup();
    auto last_report = t;
    while (shared.ready.load() + shared.failed.load() < r.connections &&
           seconds_since(t) < o.setup_timeout_s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (Clock::now() - last_report > std::chrono::seconds(2)) {
        last_report = Clock::now();
        std::cerr << "  setup: " << shared.ready.load() << "/" << r.connections << " ready, "
                  << shared.failed.load() << " failed\n";
      }
    }
    r.setup_s = seconds_since(t);
    r.ready = shared.ready.load();
    r.failed = r.connections - r.ready;
    if (idle) r.rss_ready_kib = read_rss_kib(o.server_pids);
  }

  shared.phase = kWarmup;
  for (auto& w : workers) w->begin_traffic();
  sleep_s(o.warmup_s);

  const bool redis = !o.redis.empty();
  const RedisSample redis0 = redis ? sample_redis(o.redis_endpoint) : RedisSample{};
  const double server_cpu0 = read_cpu_s(o.server_pids);
  const double gen_cpu0 = self_cpu_s();
  shared.phase = kMeasure;
  const auto t_measure = Clock::now();
  sleep_s(o.duration_s);
  shared.phase = kDrain;
  r.measured_s = seconds_since(t_measure);
  r.gen_cpu_s = self_cpu_s() - gen_cpu0;
  if (server_cpu0 >= 0) r.server_cpu_s = read_cpu_s(o.server_pids) - server_cpu0;
  if (redis) {
    const RedisSample redis1 = sample_redis(o.redis_endpoint);
    r.redis_error = !redis0.error.empty() ? redis0.error : redis1.error;
    if (r.redis_error.empty()) r.redis = redis_delta(redis0, redis1);
  }
  if (idle) r.rss_end_kib = read_rss_kib(o.server_pids);

  // Let what is in flight arrive (it is no longer counted), then hang up.
  if (!idle) sleep_s(0.2);
  for (auto& w : workers) w->end();
  for (auto& w : workers) w->join_thread();
  for (auto& w : workers) r.stats.merge(w->stats());
  return r;
}

}  // namespace sb::bench
