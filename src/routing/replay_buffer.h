// routing/replay_buffer.h — the recent outbound frames of one session, for resume.
//
// Every frame a session sends gets the next `seq`; the session keeps the most
// recent ones here (bounded in messages and bytes, oldest dropped first) so that
// a client that reconnects with "I have seen up to seq N" can be sent exactly
// the frames after N. Touched only on the session's home loop.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/fifo.h"
#include "core/ids.h"
#include "routing/bus.h"

namespace sb::routing {

class ReplayBuffer {
 public:
  struct Frame {
    uint64_t seq;
    Body body;
  };

  // `max_messages` 0 disables the buffer (push keeps nothing); `max_bytes` 0:
  // no byte limit. Each is held in 32 bits (every session has a buffer): a
  // limit above 2^32 - 1 is taken as 2^32 - 1, far past what a session keeps.
  void set_limits(size_t max_messages, size_t max_bytes) {
    max_messages_ = static_cast<uint32_t>(std::min<size_t>(max_messages, UINT32_MAX));
    max_bytes_ = static_cast<uint32_t>(std::min<size_t>(max_bytes, UINT32_MAX));
  }
  bool enabled() const { return max_messages_ > 0; }

  // Keeps frame `seq` (the next after the last pushed); then drops the oldest
  // frames while over either limit (a frame bigger than max_bytes alone drops
  // itself). Returns the highest seq dropped by this call, 0 if none. O(1)
  // amortized; the body is shared, not copied.
  uint64_t push(uint64_t seq, Body body);

  // True when every frame with after < seq <= last is held, i.e. a client that
  // has seen up to `after` can be brought to `last` (the session's newest seq).
  // False when `after` > `last` (a seq never sent). O(1).
  bool covers(uint64_t after, uint64_t last) const;

  // The frames with seq > after, oldest first. O(result).
  std::vector<Frame> since(uint64_t after) const;

  size_t size() const { return frames_.size(); }
  size_t bytes() const { return bytes_; }
  void clear() {
    frames_.clear();
    bytes_ = 0;
  }

 private:
  Fifo<Frame> frames_;  // nothing allocated while empty (an idle session holds a few frames)
  size_t bytes_ = 0;
  uint32_t max_messages_ = 0;
  uint32_t max_bytes_ = 0;
};

// Where a session's stamped frames are also stored, for a resume on another
// node (cluster mode: Redis). Called on the session's loop for every frame it
// stamps; must not block.
class ReplayLog {
 public:
  virtual ~ReplayLog() = default;
  virtual void append(const PeerId& peer, uint64_t seq, const Body& body) = 0;
};

}  // namespace sb::routing
