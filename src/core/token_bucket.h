// core/token_bucket.h — rate limiting by token bucket.
//
// `rate` tokens are added per second up to `burst`; an action costing n
// tokens is allowed when n tokens are there. Time is passed in, so the bucket
// is pure and testable; 16 bytes, no allocation, O(1) per call.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace sb {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket() = default;
  // rate 0 means unlimited.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Takes `n` tokens at time `now` if there are enough; false (and nothing
  // taken) otherwise. A cost above the burst can never pass.
  bool take(Clock::time_point now, double n = 1) {
    if (rate_ <= 0) return true;
    refill(now);
    if (tokens_ < n) return false;
    tokens_ -= n;
    return true;
  }

  // Seconds until `n` tokens are available (0 if now), for Retry-After.
  double wait_s(Clock::time_point now, double n = 1) {
    if (rate_ <= 0) return 0;
    refill(now);
    return tokens_ >= n ? 0 : (n - tokens_) / rate_;
  }

  // Puts `n` taken tokens back (never above the burst), e.g. when the action
  // they paid for turned out not to count.
  void give(Clock::time_point now, double n = 1) {
    refill(now);
    tokens_ = std::min(burst_, tokens_ + n);
  }

  bool full(Clock::time_point now) {
    refill(now);
    return rate_ <= 0 || tokens_ >= burst_;
  }

 private:
  void refill(Clock::time_point now) {
    if (last_ == Clock::time_point{}) {
      last_ = now;
      return;
    }
    const double dt = std::chrono::duration<double>(now - last_).count();
    if (dt > 0) {
      tokens_ = std::min(burst_, tokens_ + dt * rate_);
      last_ = now;
    }
  }

  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  Clock::time_point last_{};
};

}  // namespace sb
