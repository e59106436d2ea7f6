#include "service/admission.h"

#include <cmath>

namespace sb::service {

Verdict Admission::admit(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (limits_.max_connections && active_ >= limits_.max_connections)
    return {false, 503, 5, "server is at its connection limit"};
  auto [it, created] = by_ip_.try_emplace(ip);
  Entry& e = it->second;
  if (created) e.rate = TokenBucket(limits_.new_per_ip_per_s, limits_.new_per_ip_burst);
  if (limits_.max_per_ip && e.active >= limits_.max_per_ip)
    return {false, 429, 10, "too many connections from this address"};
  if (!e.rate.take(now)) {
    auto wait = static_cast<unsigned>(std::ceil(e.rate.wait_s(now)));
    return {false, 429, std::max(1u, wait), "too many new connections from this address"};
  }
  ++e.active;
  ++active_;
  if (++admits_since_prune_ >= 4096) prune(now);
  return {};
}

void Admission::release(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end() || it->second.active == 0) return;
  --it->second.active;
  --active_;
}

size_t Admission::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

// Forgets addresses with no open connection and a full bucket: they are
// indistinguishable from new ones. Amortised: once per 4096 admissions.
void Admission::prune(Clock::time_point now) {
  admits_since_prune_ = 0;
  for (auto it = by_ip_.begin(); it != by_ip_.end();) {
    if (it->second.active == 0 && it->second.rate.full(now))
      it = by_ip_.erase(it);
    else
      ++it;
  }
}

}  // namespace sb::service
