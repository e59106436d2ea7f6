// service/admission.h — who may open a WebSocket now.
//
// Checked once per upgrade, before any session state exists: the server-wide
// connection cap (503 + Retry-After) and, per client address, the number of
// open connections and the rate of new ones (429 + Retry-After). Shared by all
// event loops behind one mutex: a few hundred nanoseconds per connection
// opened or closed, never touched per message.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/token_bucket.h"

namespace sb::service {

struct AdmissionLimits {
  size_t max_connections = 100000;  // 0: unlimited
  size_t max_per_ip = 256;          // 0: unlimited
  double new_per_ip_per_s = 20;     // 0: unlimited
  double new_per_ip_burst = 100;
};

struct Verdict {
  bool ok = true;
  unsigned status = 200;  // 429 or 503 when refused
  unsigned retry_after_s = 0;
  const char* reason = "";
};

class Admission {
 public:
  using Clock = TokenBucket::Clock;
  explicit Admission(AdmissionLimits limits) : limits_(limits) {}

  // On ok, the connection is counted until release(ip).
  Verdict admit(const std::string& ip, Clock::time_point now);
  void release(const std::string& ip);

  size_t active() const;

 private:
  struct Entry {
    size_t active = 0;
    TokenBucket rate;
  };
  void prune(Clock::time_point now);

  AdmissionLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> by_ip_;
  size_t active_ = 0;
  size_t admits_since_prune_ = 0;
};

}  // namespace sb::service
