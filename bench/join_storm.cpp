// Join storm: --concurrency slots each loop connect → upgrade → hello (a
// freshly minted JWT) → join → reset, as fast as the server answers. A join
// counts when `joined` arrives; its latency is from the connect call. Attempt
// n joins room n/2, so about half the joins also produce a peer-joined.
#include <boost/asio/steady_timer.hpp>

#include "worker.h"

namespace sb::bench {

void Worker::storm_attempt(Peer& slot) {
  if (!sending()) return;
  const uint64_t n = storm_counter_++;
  slot.others.clear();
  slot.next_seq = 1;
  slot.joined = false;
  slot.ready = false;
  ++slot.attempts;
  slot.room_name = shared_.room_prefix + "-js" + std::to_string(index_) + "-" + std::to_string(n / 2);
  slot.started_ns = shared_.now_ns();
  connect(slot, static_cast<uint32_t>(n * o_.threads + index_));
}

void Worker::storm_joined(Peer& slot) {
  if (measuring()) {
    ++stats_.joins;
    const uint64_t now = shared_.now_ns();
    stats_.latency.record(now > slot.started_ns ? now - slot.started_ns : 0);
  }
  slot.ws->abort();
  slot.ws.reset();
  storm_attempt(slot);
}

void Worker::storm_retry(Peer& slot) {
  // A failed attempt waits a little, so a refusing server is not hammered in a tight loop.
  auto t = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(10));
  t->async_wait([this, t, &slot](const boost::system::error_code&) { storm_attempt(slot); });
}

}  // namespace sb::bench
