// core/token_bucket.h — rate limiting by token bucket.
//
// `rate` tokens are added per second up to `burst`; an action costing n
// tokens is allowed when n tokens are there. Time is passed in, so the bucket
// is pure and testable; no allocation, O(1) per call.
//
// Two forms. TokenBucket (32 bytes) owns its rate. TokenCounter (16 bytes)
// holds only the bucket's level and is handed its TokenRate on each call: for
// many buckets under one setting, such as every connection's frame and byte
// limits, whose shared rate need not be copied into each.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace sb {

using TokenClock = std::chrono::steady_clock;

// Tokens per second, and the most a bucket holds. rate 0 means unlimited.
struct TokenRate {
  double rate = 0;
  double burst = 0;
};

// The level of a bucket whose rate is kept elsewhere. A new counter is full
// (it holds `burst` from its first call on). Every call for one counter must
// pass the same rate.
class TokenCounter {
 public:
  using Clock = TokenClock;

  // Takes `n` tokens at time `now` if there are enough; false (and nothing
  // taken) otherwise. A cost above the burst can never pass.
  bool take(const TokenRate& r, Clock::time_point now, double n = 1) {
    if (r.rate <= 0) return true;
    refill(r, now);
    if (tokens_ < n) return false;
    tokens_ -= n;
    return true;
  }

  // Seconds until `n` tokens are available (0 if now), for Retry-After.
  double wait_s(const TokenRate& r, Clock::time_point now, double n = 1) {
    if (r.rate <= 0) return 0;
    refill(r, now);
    return tokens_ >= n ? 0 : (n - tokens_) / r.rate;
  }

  // Puts `n` taken tokens back (never above the burst), e.g. when the action
  // they paid for turned out not to count.
  void give(const TokenRate& r, Clock::time_point now, double n = 1) {
    refill(r, now);
    tokens_ = std::min(r.burst, tokens_ + n);
  }

  bool full(const TokenRate& r, Clock::time_point now) {
    refill(r, now);
    return r.rate <= 0 || tokens_ >= r.burst;
  }

 private:
  void refill(const TokenRate& r, Clock::time_point now) {
    if (last_ == Clock::time_point{}) {  // first use: a full bucket
      tokens_ = r.burst;
      last_ = now;
      return;
    }
    const double dt = std::chrono::duration<double>(now - last_).count();
    if (dt > 0) {
      tokens_ = std::min(r.burst, tokens_ + dt * r.rate);
      last_ = now;
    }
  }

  double tokens_ = 0;
  Clock::time_point last_{};
};

// A bucket with its own rate.
class TokenBucket {
 public:
  using Clock = TokenClock;

  TokenBucket() = default;
  // rate 0 means unlimited.
  TokenBucket(double rate, double burst) : rate_{rate, burst} {}

  bool take(Clock::time_point now, double n = 1) { return level_.take(rate_, now, n); }
  double wait_s(Clock::time_point now, double n = 1) { return level_.wait_s(rate_, now, n); }
  void give(Clock::time_point now, double n = 1) { level_.give(rate_, now, n); }
  bool full(Clock::time_point now) { return level_.full(rate_, now); }

 private:
  TokenRate rate_;
  TokenCounter level_;
};

}  // namespace sb
