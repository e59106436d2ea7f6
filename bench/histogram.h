// bench/histogram.h — a log-linear latency histogram in the HdrHistogram style.
//
// Values (nanoseconds) below 2 * kSub are counted exactly; above that, every
// power of two is split into kSub equal sub-buckets, so a recorded value is
// known to within 1/kSub (< 0.8 %) of itself across the whole 64-bit range.
// Recording is one clz, one shift and one increment: cheap enough to do for
// every message on the load generator's hot path. Each generator thread owns
// one histogram; they are merged after the run, so no atomics are needed.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace sb::bench {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // sub-buckets per power of two
  // The largest value, 2^64 - 1, has shift 64 - 1 - kSubBits: buckets up to (shift + 2) * kSub.
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

  void record(uint64_t v) {
    ++counts_[index_of(v)];
    ++total_;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
    sum_ += v;
  }

  void merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
    min_ = std::min(min_, o.min_);
    sum_ += o.sum_;
  }

  uint64_t count() const { return total_; }
  uint64_t max() const { return total_ ? max_ : 0; }
  uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

  // The value at quantile q (0..1): the highest value equivalent to the bucket
  // holding the ceil(q * count)-th smallest sample, capped at the true maximum
  // (so p100 is exact and no percentile exceeds what was seen).
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.5);
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(highest_equivalent(i), max_);
    }
    return max_;
  }

  static size_t index_of(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - kSubBits;  // v >> shift lies in [kSub, 2 * kSub)
    return static_cast<size_t>((shift + 1) * kSub + ((v >> shift) - kSub));
  }

  static uint64_t lowest_equivalent(size_t i) {
    if (i < 2 * kSub) return i;
    const uint64_t shift = i / kSub - 1;
    return ((i % kSub) + kSub) << shift;
  }

  static uint64_t highest_equivalent(size_t i) {
    if (i < 2 * kSub) return i;
    const uint64_t shift = i / kSub - 1;
    return lowest_equivalent(i) + ((uint64_t{1} << shift) - 1);
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t sum_ = 0;
};

}  // namespace sb::bench
