// identity/login_throttle.h — slowing down password guessing.
//
// Two token buckets per attempt: one for the login name, one for the client
// address. Every attempt takes one token from each when it starts (so parallel
// guesses are counted too); a successful login refills that name's bucket and
// gives the address back the one token it took (so many users behind one
// address are only slowed by their failures, and one good account does not
// launder earlier guesses at others). An attempt
// finding either bucket empty is refused before any password is checked, with
// the number of seconds until a token is back (HTTP 429, Retry-After).
// Defaults: a name may fail 5 times in a row, then once per 12 s; an address
// 20 times, then once per 3 s (i.e. 5 and 20 guesses per minute sustained).
// The bucket is keyed by the name as sent, whether or not such a user exists,
// so the throttle reveals nothing about which names exist.
// Memory: at most `max_keys` buckets per kind; when full, buckets that are
// full again (idle) are dropped, and if none is, the oldest half of the map is
// cleared (an attacker flooding names gains a fresh bucket for some of them,
// the per-address bucket still holds).
// Thread safety: every method may be called from any thread (one mutex; O(1)
// per call, amortised O(max_keys) on a sweep).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/token_bucket.h"

namespace sb::identity {

struct ThrottleLimits {
  double user_burst = 5;
  double user_per_s = 1.0 / 12;
  double ip_burst = 20;
  double ip_per_s = 1.0 / 3;
  size_t max_keys = 100000;
};

class LoginThrottle {
 public:
  using Clock = TokenBucket::Clock;
  explicit LoginThrottle(ThrottleLimits limits = {});

  // Takes one token for `user` and one for `ip`. Returns 0 when the attempt may
  // go on, otherwise the whole seconds (>= 1) to wait; nothing is taken then.
  unsigned begin(const std::string& user, const std::string& ip, Clock::time_point now);

  // After a successful attempt: `user`'s bucket is full again, `ip` gets its token back.
  void succeeded(const std::string& user, const std::string& ip, Clock::time_point now);

 private:
  using Map = std::unordered_map<std::string, TokenBucket>;
  TokenBucket& bucket(Map& m, const std::string& key, double rate, double burst, Clock::time_point now);

  ThrottleLimits limits_;
  std::mutex mu_;
  Map users_;
  Map ips_;
};

}  // namespace sb::identity
