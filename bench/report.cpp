#include "report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace sb::bench {

namespace {

// JSON string escaping for the few free-text fields (labels, error samples).
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string num(double v, int decimals = 1) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double us(uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

double per_s(uint64_t n, double s) {
  return s > 0 ? static_cast<double>(n) / s : 0.0;
}

double bytes_per_conn(const Result& r) {
  if (r.rss_before_kib < 0 || r.rss_end_kib < 0 || r.ready == 0) return -1;
  return static_cast<double>(r.rss_end_kib - r.rss_before_kib) * 1024.0 / r.ready;
}

}  // namespace

std::string result_json(const Options& o, const Result& r) {
  const Stats& s = r.stats;
  const Histogram& h = s.latency;
  std::ostringstream j;
  j << "{\"scenario\":" << quoted(o.scenario_name) << ",\"label\":" << quoted(o.label)
    << ",\"target\":" << quoted(o.target) << ",\"targets\":" << o.targets.size()
    << ",\"threads\":" << o.threads;
  if (o.scenario == Scenario::join_storm) {
    j << ",\"concurrency\":" << o.concurrency;
  } else {
    j << ",\"connections\":" << r.connections << ",\"ready\":" << r.ready << ",\"room_size\":" << o.room_size
      << ",\"setup_s\":" << num(r.setup_s, 3);
  }
  if (o.scenario == Scenario::relay || o.scenario == Scenario::fanout)
    j << ",\"size\":" << o.size << ",\"rate\":" << num(o.rate, 0) << ",\"window\":" << o.window
      << ",\"ack\":" << (o.ack ? "true" : "false");
  j << ",\"warmup_s\":" << num(o.warmup_s, 2) << ",\"duration_s\":" << num(r.measured_s, 3)
    << ",\"server_cpu_s\":" << num(r.server_cpu_s, 3) << ",\"gen_cpu_s\":" << num(r.gen_cpu_s, 3);
  switch (o.scenario) {
    case Scenario::idle:
      j << ",\"rss_before_kib\":" << r.rss_before_kib << ",\"rss_ready_kib\":" << r.rss_ready_kib
        << ",\"rss_end_kib\":" << r.rss_end_kib << ",\"bytes_per_conn\":" << num(bytes_per_conn(r), 0);
      break;
    case Scenario::relay:
    case Scenario::fanout:
      j << ",\"sent\":" << s.sent << ",\"delivered\":" << s.delivered << ",\"acked\":" << s.acked
        << ",\"skipped\":" << s.skipped << ",\"sent_per_s\":" << num(per_s(s.sent, r.measured_s))
        << ",\"deliveries_per_s\":" << num(per_s(s.delivered, r.measured_s))
        << ",\"deliveries_per_server_cpu_s\":" << num(per_s(s.delivered, r.server_cpu_s), 0);
      break;
    case Scenario::join_storm:
      j << ",\"joins\":" << s.joins << ",\"joins_per_s\":" << num(per_s(s.joins, r.measured_s))
        << ",\"joins_per_server_cpu_s\":" << num(per_s(s.joins, r.server_cpu_s), 0);
      break;
  }
  if (o.scenario != Scenario::idle) {
    j << ",\"latency_us\":{\"samples\":" << h.count() << ",\"mean\":" << num(h.mean() / 1000.0)
      << ",\"p50\":" << num(us(h.quantile(0.50))) << ",\"p90\":" << num(us(h.quantile(0.90)))
      << ",\"p99\":" << num(us(h.quantile(0.99))) << ",\"p999\":" << num(us(h.quantile(0.999)))
      << ",\"max\":" << num(us(h.max())) << "}";
  }
  if (!o.redis.empty()) {
    j << ",\"redis\":{";
    if (!r.redis_error.empty()) {
      j << "\"error\":" << quoted(r.redis_error);
    } else {
      j << "\"commands\":" << r.redis.total << ",\"commands_per_delivery\":"
        << num(s.delivered ? static_cast<double>(r.redis.total) / static_cast<double>(s.delivered) : 0, 4)
        << ",\"cpu_s\":" << num(r.redis.cpu_s, 3) << ",\"by_command\":{";
      bool first = true;
      for (const auto& [name, calls] : r.redis.calls) {
        j << (first ? "" : ",") << quoted(name) << ":" << calls;
        first = false;
      }
      j << "}";
    }
    j << "}";
  }
  j << ",\"errors\":{\"connect\":" << s.connect_errors << ",\"closed\":" << s.closed
    << ",\"server\":" << s.server_errors << ",\"seq\":" << s.seq_errors
    << ",\"protocol\":" << s.protocol_errors << ",\"setup_failed\":" << r.failed
    << "},\"error_total\":" << s.error_total() + r.failed;
  if (!s.first_error.empty()) j << ",\"first_error\":" << quoted(s.first_error);
  j << "}";
  return j.str();
}

std::string result_summary(const Options& o, const Result& r) {
  const Stats& s = r.stats;
  const Histogram& h = s.latency;
  std::ostringstream t;
  t << o.scenario_name << " against " << o.label << " (" << o.target << "), " << o.threads
    << " generator thread(s), " << num(r.measured_s, 2) << " s measured after " << num(o.warmup_s, 1)
    << " s warm-up\n";
  if (o.scenario != Scenario::join_storm)
    t << "  " << r.ready << "/" << r.connections << " peers ready in rooms of " << o.room_size << " after "
      << num(r.setup_s, 2) << " s\n";
  switch (o.scenario) {
    case Scenario::idle: {
      const double b = bytes_per_conn(r);
      t << "  server RSS " << r.rss_before_kib << " KiB before, " << r.rss_ready_kib << " KiB joined, "
        << r.rss_end_kib << " KiB after holding: "
        << (b < 0 ? std::string("n/a (no --server-pid)") : num(b, 0) + " bytes per connection") << "\n";
      break;
    }
    case Scenario::relay:
    case Scenario::fanout:
      t << "  " << num(per_s(s.delivered, r.measured_s), 0) << " deliveries/s (" << s.delivered << "), "
        << num(per_s(s.sent, r.measured_s), 0) << " sends/s, " << o.size << " B frames, "
        << (o.rate > 0 ? "rate " + num(o.rate, 0) + "/s" : "flat out, window " + std::to_string(o.window))
        << (s.skipped ? ", " + std::to_string(s.skipped) + " skipped (window full)" : std::string())
        << (o.ack ? ", " + std::to_string(s.acked) + " acked" : std::string()) << "\n";
      break;
    case Scenario::join_storm:
      t << "  " << num(per_s(s.joins, r.measured_s), 0) << " joins/s (" << s.joins << "), concurrency "
        << o.concurrency << "\n";
      break;
  }
  if (o.scenario != Scenario::idle)
    t << "  latency us: p50 " << num(us(h.quantile(0.5))) << "  p99 " << num(us(h.quantile(0.99)))
      << "  p99.9 " << num(us(h.quantile(0.999))) << "  max " << num(us(h.max())) << "  (" << h.count()
      << " samples)\n";
  if (r.measured_s > 0)
    t << "  CPU while measuring: server " << num(100 * r.server_cpu_s / r.measured_s, 0) << "%, generator "
      << num(100 * r.gen_cpu_s / r.measured_s, 0) << "% (of one core)\n";
  if (!o.redis.empty() && !r.redis_error.empty()) {
    t << "  Redis: not read (" << r.redis_error << ")\n";
  } else if (!o.redis.empty()) {
    const double per =
        s.delivered ? static_cast<double>(r.redis.total) / static_cast<double>(s.delivered) : 0;
    t << "  Redis: " << r.redis.total << " commands while measuring, " << num(per, 3) << " per delivery (";
    bool first = true;
    for (const auto& [name, calls] : r.redis.calls) {
      t << (first ? "" : ", ") << name << " " << calls;
      first = false;
    }
    t << "), CPU " << num(r.measured_s > 0 ? 100 * r.redis.cpu_s / r.measured_s : 0, 0) << "%\n";
  }
  t << "  errors: " << s.error_total() + r.failed;
  if (!s.first_error.empty()) t << " (first: " << s.first_error << ")";
  t << "\n";
  return t.str();
}

std::string check_result(const Options& o, const Result& r) {
  const Stats& s = r.stats;
  if (s.error_total() + r.failed) return "errors were counted: " + s.first_error;
  if (!o.redis.empty() && !r.redis_error.empty()) return "Redis counters: " + r.redis_error;
  switch (o.scenario) {
    case Scenario::idle:
      if (r.ready == 0) return "no peer got ready";
      if (!o.server_pids.empty() && (r.rss_before_kib < 0 || r.rss_end_kib < 0))
        return "server RSS could not be read";
      break;
    case Scenario::relay:
    case Scenario::fanout:
      if (s.delivered == 0 || s.sent == 0) return "nothing was delivered";
      if (s.latency.count() != s.delivered) return "latency samples do not match deliveries";
      if (o.ack && s.acked == 0) return "no ack was received";
      break;
    case Scenario::join_storm:
      if (s.joins == 0) return "no join completed";
      break;
  }
  return {};
}

}  // namespace sb::bench
