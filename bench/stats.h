// bench/stats.h — what one generator thread counted; merged after the run.
#pragma once

#include <cstdint>
#include <string>

#include "histogram.h"

namespace sb::bench {

struct Stats {
  Histogram latency;             // ns: send→receive (relay, fanout) or connect→joined (join-storm)
  uint64_t sent = 0;             // frames sent while measuring
  uint64_t delivered = 0;        // relayed frames received while measuring
  uint64_t joins = 0;            // join-storm: joins completed while measuring
  uint64_t skipped = 0;          // rate mode: sends due while the window was full (dropped, not deferred)
  uint64_t acked = 0;            // --ack: `ack` frames received while measuring
  uint64_t connect_errors = 0;   // connect, upgrade or hello/join failed
  uint64_t closed = 0;           // an established connection ended that we did not end
  uint64_t server_errors = 0;    // `error` frames received
  uint64_t seq_errors = 0;       // seq missing or not exactly previous + 1
  uint64_t protocol_errors = 0;  // an unparsable frame or an unexpected type
  std::string first_error;       // the first of the above, for the summary

  uint64_t error_total() const {
    return connect_errors + closed + server_errors + seq_errors + protocol_errors;
  }

  void note(std::string_view what) {
    if (first_error.empty()) first_error = std::string(what);
  }

  void merge(const Stats& o) {
    latency.merge(o.latency);
    sent += o.sent;
    delivered += o.delivered;
    joins += o.joins;
    skipped += o.skipped;
    acked += o.acked;
    connect_errors += o.connect_errors;
    closed += o.closed;
    server_errors += o.server_errors;
    seq_errors += o.seq_errors;
    protocol_errors += o.protocol_errors;
    if (first_error.empty()) first_error = o.first_error;
  }
};

}  // namespace sb::bench
