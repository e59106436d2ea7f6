#include "routing/replay_buffer.h"

namespace sb::routing {

uint64_t ReplayBuffer::push(uint64_t seq, Body body) {
  if (!enabled()) return 0;
  bytes_ += body->size();
  frames_.push_back({seq, std::move(body)});
  uint64_t dropped = 0;
  while (!frames_.empty() && (frames_.size() > max_messages_ || (max_bytes_ && bytes_ > max_bytes_))) {
    dropped = frames_.front().seq;
    bytes_ -= frames_.front().body->size();
    frames_.pop_front();
  }
  return dropped;
}

bool ReplayBuffer::covers(uint64_t after, uint64_t last) const {
  if (after > last) return false;
  if (after == last) return true;
  return !frames_.empty() && frames_.front().seq <= after + 1 && frames_.back().seq == last;
}

std::vector<ReplayBuffer::Frame> ReplayBuffer::since(uint64_t after) const {
  std::vector<Frame> out;
  if (frames_.empty() || frames_.back().seq <= after) return out;
  // Seqs are consecutive: the first wanted frame's index is known.
  const uint64_t first = frames_.front().seq;
  const size_t start = after + 1 > first ? static_cast<size_t>(after + 1 - first) : 0;
  out.reserve(frames_.size() - start);
  for (size_t i = start; i < frames_.size(); ++i) out.push_back(frames_[i]);
  return out;
}

}  // namespace sb::routing
