#include "identity/login_throttle.h"

#include <cmath>

namespace sb::identity {

LoginThrottle::LoginThrottle(ThrottleLimits limits) : limits_(limits) {}

TokenBucket& LoginThrottle::bucket(Map& m, const std::string& key, double rate, double burst,
                                   Clock::time_point now) {
  auto it = m.find(key);
  if (it != m.end()) return it->second;
  if (m.size() >= limits_.max_keys) {
    for (auto i = m.begin(); i != m.end();) i = i->second.full(now) ? m.erase(i) : std::next(i);
    if (m.size() >= limits_.max_keys / 2) {
      size_t drop = m.size() / 2;
      for (auto i = m.begin(); i != m.end() && drop > 0; --drop) i = m.erase(i);
    }
  }
  TokenBucket b(rate, burst);
  b.full(now);  // starts the clock
  return m.emplace(key, b).first->second;
}

unsigned LoginThrottle::begin(const std::string& user, const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  TokenBucket& u = bucket(users_, user, limits_.user_per_s, limits_.user_burst, now);
  TokenBucket& a = bucket(ips_, ip, limits_.ip_per_s, limits_.ip_burst, now);
  const double wait = std::max(u.wait_s(now), a.wait_s(now));
  if (wait > 0) return static_cast<unsigned>(std::max(1.0, std::ceil(wait)));
  u.take(now);
  a.take(now);
  return 0;
}

void LoginThrottle::succeeded(const std::string& user, const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  users_.erase(user);  // a missing bucket is a full one
  if (auto it = ips_.find(ip); it != ips_.end()) it->second.give(now);
}

}  // namespace sb::identity
