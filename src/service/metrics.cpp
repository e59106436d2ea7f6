#include "service/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace sb::service {

const Histogram::Bounds kLatencyBounds = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                          0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1.0};

void Histogram::observe(std::chrono::nanoseconds d) noexcept {
  const int64_t ns = d.count() < 0 ? 0 : d.count();
  const double s = static_cast<double>(ns) * 1e-9;
  size_t i = 0;
  while (i < kBuckets && s > bounds_[i]) ++i;
  if (i < kBuckets) buckets_[i].inc();
  count_.inc();
  sum_ns_.inc(static_cast<uint64_t>(ns));
}

size_t close_code_index(uint16_t code) {
  for (size_t i = 0; i + 1 < kCloseCodes.size(); ++i)
    if (kCloseCodes[i].code == code) return i;
  return kCloseCodes.size() - 1;
}

Metrics::Metrics(uint32_t shards) {
  shards_.reserve(shards);
  for (uint32_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<ShardMetrics>());
}

namespace {

// Writes one exposition family at a time; keeps HELP/TYPE next to their samples.
class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  void sample(std::string_view name, std::string_view labels, uint64_t v) {
    head(name, labels);
    out_.append(std::to_string(v)).append("\n");
  }
  void sample(std::string_view name, std::string_view labels, double v) {
    head(name, labels);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    out_.append(buf).append("\n");
  }
  std::string take() { return std::move(out_); }

 private:
  void head(std::string_view name, std::string_view labels) {
    out_.append(name);
    if (!labels.empty()) out_.append("{").append(labels).append("}");
    out_.append(" ");
  }
  std::string out_;
};

std::string label(std::string_view k, std::string_view v) {
  // Every label value we write is one of our own fixed names: nothing to escape.
  return std::string(k) + "=\"" + std::string(v) + "\"";
}

template <class F>
uint64_t sum(const std::vector<std::unique_ptr<ShardMetrics>>& shards, F f) {
  uint64_t t = 0;
  for (const auto& s : shards) t += f(*s);
  return t;
}

// Writes a histogram family from per-bucket (non-cumulative) counts.
void histogram(Writer& w, std::string_view name, std::string_view extra_labels,
               const Histogram::Bounds& bounds, const std::array<uint64_t, Histogram::kBuckets>& buckets,
               uint64_t count, uint64_t sum_ns) {
  const std::string n(name);
  const std::string pre = extra_labels.empty() ? std::string() : std::string(extra_labels) + ",";
  uint64_t cum = 0;
  for (size_t i = 0; i < Histogram::kBuckets; ++i) {
    cum += buckets[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", bounds[i]);
    w.sample(n + "_bucket", pre + label("le", le), cum);
  }
  // A scrape may catch count ahead of the buckets (they are separate stores);
  // +Inf must never be below the last finite bucket.
  w.sample(n + "_bucket", pre + label("le", "+Inf"), std::max(count, cum));
  w.sample(n + "_sum", extra_labels, static_cast<double>(sum_ns) * 1e-9);
  w.sample(n + "_count", extra_labels, std::max(count, cum));
}

}  // namespace

std::string Metrics::render() const {
  Writer w;
  const auto& S = shards_;

  w.family("switchboard_build_info", "gauge", "Always 1; the version is a label.");
  w.sample("switchboard_build_info", label("version", SWITCHBOARD_VERSION), uint64_t{1});
  w.family("switchboard_ready", "gauge", "1 while the server accepts work (GET /readyz is 200), else 0.");
  w.sample("switchboard_ready", "", uint64_t{ready && ready() ? 1u : 0u});
  w.family("switchboard_event_loops", "gauge", "Event-loop threads (shards).");
  w.sample("switchboard_event_loops", "", uint64_t{S.size()});

  const uint64_t opened = sum(S, [](const ShardMetrics& m) { return m.connections_opened.get(); });
  uint64_t closed_all = 0;
  std::array<uint64_t, kCloseCodes.size()> closed{};
  for (size_t i = 0; i < kCloseCodes.size(); ++i) {
    closed[i] = sum(S, [i](const ShardMetrics& m) { return m.closed[i].get(); });
    closed_all += closed[i];
  }
  w.family("switchboard_connections", "gauge", "Open WebSocket connections.");
  w.sample("switchboard_connections", "", opened >= closed_all ? opened - closed_all : uint64_t{0});
  w.family("switchboard_connections_opened_total", "counter",
           "WebSocket connections accepted (upgrade completed).");
  w.sample("switchboard_connections_opened_total", "", opened);
  w.family("switchboard_connections_closed_total", "counter",
           "WebSocket connections closed, by close code (1006: no close frame).");
  for (size_t i = 0; i < kCloseCodes.size(); ++i) {
    const std::string code = kCloseCodes[i].code ? std::to_string(kCloseCodes[i].code) : "other";
    w.sample("switchboard_connections_closed_total",
             label("code", code) + "," + label("reason", kCloseCodes[i].reason), closed[i]);
  }

  const uint64_t started = sum(S, [](const ShardMetrics& m) { return m.sessions_started.get(); });
  const uint64_t ended = sum(S, [](const ShardMetrics& m) { return m.sessions_ended.get(); });
  w.family("switchboard_sessions", "gauge",
           "Authenticated sessions (hello accepted, connection open or parked for resume).");
  w.sample("switchboard_sessions", "", started >= ended ? started - ended : uint64_t{0});
  w.family("switchboard_sessions_started_total", "counter", "Sessions started (hello accepted).");
  w.sample("switchboard_sessions_started_total", "", started);
  w.family("switchboard_sessions_resumed_total", "counter", "Sessions continued by a hello with resume.");
  w.sample("switchboard_sessions_resumed_total", "",
           sum(S, [](const ShardMetrics& m) { return m.sessions_resumed.get(); }));

  w.family("switchboard_rooms", "gauge", "Rooms that exist (with peers, or pre-created).");
  w.sample("switchboard_rooms", "", uint64_t{rooms ? rooms() : 0});
  w.family("switchboard_room_peers", "gauge", "Room memberships (a connection in two rooms counts twice).");
  w.sample("switchboard_room_peers", "", uint64_t{peers ? peers() : 0});

  auto by_type = [&](std::string_view name, std::string_view help, auto field, bool relay_only) {
    w.family(name, "counter", help);
    for (size_t t = 0; t < kMsgTypes; ++t) {
      const auto type = static_cast<proto::MsgType>(t);
      if (relay_only && !proto::is_relay(type)) continue;
      w.sample(name, label("type", proto::to_string(type)),
               sum(S, [&](const ShardMetrics& m) { return (m.*field)[t].get(); }));
    }
  };
  by_type("switchboard_messages_received_total", "Valid client messages received, by type.",
          &ShardMetrics::received, false);
  by_type("switchboard_messages_relayed_total",
          "Relay messages accepted for routing, by type (one per message sent, whatever the number of "
          "recipients).",
          &ShardMetrics::relayed, true);
  by_type("switchboard_relay_deliveries_total", "Relayed frames handed to a recipient's send queue, by type.",
          &ShardMetrics::delivered, true);

  w.family("switchboard_websocket_received_bytes_total", "counter",
           "WebSocket message payload bytes received.");
  w.sample("switchboard_websocket_received_bytes_total", "",
           sum(S, [](const ShardMetrics& m) { return m.bytes_in.get(); }));
  w.family("switchboard_websocket_sent_bytes_total", "counter", "WebSocket message payload bytes sent.");
  w.sample("switchboard_websocket_sent_bytes_total", "",
           sum(S, [](const ShardMetrics& m) { return m.bytes_out.get(); }));

  w.family("switchboard_errors_sent_total", "counter", "Protocol error messages sent to clients, by code.");
  for (size_t c = 0; c < kErrorCodes; ++c)
    w.sample("switchboard_errors_sent_total",
             label("code", proto::to_string(static_cast<proto::ErrorCode>(c))),
             sum(S, [c](const ShardMetrics& m) { return m.errors[c].get(); }));

  w.family("switchboard_auth_failures_total", "counter",
           "Tokens refused in hello or refresh, by reason (\"missing\": no token at all).");
  for (size_t r = 0; r < kTokenErrors; ++r) {
    const auto e = static_cast<auth::TokenError>(r);
    w.sample("switchboard_auth_failures_total",
             label("reason", e == auth::TokenError::none ? "missing" : auth::to_string(e)),
             sum(S, [r](const ShardMetrics& m) { return m.auth_failures[r].get(); }));
  }

  {
    std::array<uint64_t, Histogram::kBuckets> b{};
    for (size_t i = 0; i < Histogram::kBuckets; ++i)
      b[i] = sum(S, [i](const ShardMetrics& m) { return m.relay_latency.bucket(i); });
    w.family(
        "switchboard_relay_latency_seconds", "histogram",
        "Server-side relay latency: from the frame's receipt to its hand-off to the recipient's send queue.");
    histogram(w, "switchboard_relay_latency_seconds", "", kLatencyBounds, b,
              sum(S, [](const ShardMetrics& m) { return m.relay_latency.count(); }),
              sum(S, [](const ShardMetrics& m) { return m.relay_latency.sum_ns(); }));
  }
  w.family("switchboard_event_loop_lag_seconds", "histogram",
           "How late each event loop's probe timer fired (a busy or blocked loop shows here), per shard.");
  for (size_t s = 0; s < S.size(); ++s) {
    std::array<uint64_t, Histogram::kBuckets> b{};
    for (size_t i = 0; i < Histogram::kBuckets; ++i) b[i] = S[s]->loop_lag.bucket(i);
    histogram(w, "switchboard_event_loop_lag_seconds", label("shard", std::to_string(s)), kLatencyBounds, b,
              S[s]->loop_lag.count(), S[s]->loop_lag.sum_ns());
  }

  const WebhookMetrics& wh = webhooks_;
  w.family("switchboard_webhooks_enqueued_total", "counter",
           "Webhook deliveries queued (one per event and URL).");
  w.sample("switchboard_webhooks_enqueued_total", "", wh.enqueued.load(std::memory_order_relaxed));
  w.family("switchboard_webhooks_delivered_total", "counter",
           "Webhook deliveries answered with a 2xx status.");
  w.sample("switchboard_webhooks_delivered_total", "", wh.delivered.get());
  w.family("switchboard_webhook_attempts_total", "counter", "Webhook HTTP requests made, retries included.");
  w.sample("switchboard_webhook_attempts_total", "", wh.attempts.get());
  w.family("switchboard_webhook_retries_total", "counter",
           "Webhook requests retried after a failure or non-2xx.");
  w.sample("switchboard_webhook_retries_total", "", wh.retries.get());
  w.family("switchboard_webhooks_failed_total", "counter",
           "Webhook deliveries given up after the last attempt.");
  w.sample("switchboard_webhooks_failed_total", "", wh.failed.get());
  w.family("switchboard_webhooks_dropped_total", "counter",
           "Webhook deliveries dropped because the queue was full.");
  w.sample("switchboard_webhooks_dropped_total", "", wh.dropped.load(std::memory_order_relaxed));
  w.family("switchboard_webhook_queue", "gauge",
           "Webhook deliveries waiting, in flight or waiting to retry.");
  w.sample("switchboard_webhook_queue", "", uint64_t{wh.queued ? wh.queued() : 0});

  if (cluster) {  // cluster mode
    const ClusterFigures c = cluster();
    w.family("switchboard_redis_rtt_seconds", "gauge", "Round trip of the last Redis heartbeat command.");
    w.sample("switchboard_redis_rtt_seconds", "", c.redis_rtt_s);
    w.family("switchboard_cluster_nodes", "gauge", "Live nodes of the cluster seen at the last heartbeat.");
    w.sample("switchboard_cluster_nodes", "", uint64_t{c.nodes});
    w.family("switchboard_redis_commands_total", "counter",
             "Membership scripts and relay publishes this node sent to Redis.");
    w.sample("switchboard_redis_commands_total", "", c.redis_commands);
  }

  const ProcessStats p = read_process_stats();
  w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  w.sample("process_cpu_seconds_total", "", p.cpu_seconds);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample("process_resident_memory_bytes", "", p.resident_bytes);
  w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  w.sample("process_virtual_memory_bytes", "", p.virtual_bytes);
  w.family("process_open_fds", "gauge", "Number of open file descriptors.");
  w.sample("process_open_fds", "", p.open_fds);
  w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  w.sample("process_max_fds", "", p.max_fds);
  w.family("process_threads", "gauge", "Number of OS threads in the process.");
  w.sample("process_threads", "", p.threads);
  w.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  w.sample("process_start_time_seconds", "",
           std::chrono::duration<double>(started_.time_since_epoch()).count());
  return w.take();
}

ProcessStats read_process_stats() {
  ProcessStats p;
#ifdef __linux__
  // /proc/self/stat: fields after the parenthesised command name.
  std::ifstream in("/proc/self/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = all.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream ss(all.substr(rp + 2));
    std::vector<std::string> f;
    for (std::string x; ss >> x;) f.push_back(x);
    // f[0] is field 3 (state); utime=14, stime=15, num_threads=20, vsize=23, rss=24 (1-based).
    auto at = [&](size_t field) -> uint64_t { return field - 3 < f.size() ? std::stoull(f[field - 3]) : 0; };
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    p.cpu_seconds = static_cast<double>(at(14) + at(15)) / tick;
    p.threads = at(20);
    p.virtual_bytes = at(23);
    p.resident_bytes = at(24) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++p.open_fds;
    closedir(d);
    if (p.open_fds) --p.open_fds;  // the directory stream itself
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur;
#endif
  return p;
}

}  // namespace sb::service
