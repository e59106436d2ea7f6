#include "service/resumed_session.h"

#include "proto/message.h"

namespace sb::service {

void ResumedSession::deliver(const routing::Body& body) {
  if (overflowed_) return;  // about to end
  const uint64_t seq = ++seq_;
  const uint64_t dropped = replay_.push(seq, body);
  if (log_) log_->append(peer_, seq, body);
  if (parked_) {
    if (dropped > parked_at_seq_ || !replay_.enabled()) {
      overflowed_ = true;
      bus_.post(shard(), on_overflow_);  // never end a session inside a delivery loop
    }
    return;
  }
  bus_.run_on(transport_shard_, [t = transport_, body, seq] {
    if (auto tp = t.lock()) tp->write(body, seq);
  });
}

void ResumedSession::resume_input() {
  input_paused_ = false;
  if (!held_.empty() && drain_) bus_.post(shard(), drain_);
}

std::function<void()> ResumedSession::resumer(std::function<void(Session&)> fn) {
  return [&bus = bus_, home = shard(), weak = weak_from_this(), fn = std::move(fn)]() mutable {
    bus.post(home, [weak, fn = std::move(fn)] {
      if (auto p = weak.lock()) fn(*p);
    });
  };
}

void ResumedSession::close(uint16_t code, std::string_view reason) {
  if (parked_) return;
  bus_.run_on(transport_shard_, [t = transport_, code, reason = std::string(reason)] {
    if (auto tp = t.lock()) tp->end(code, reason);
  });
}

void ResumedSession::park(Clock::time_point now) {
  parked_ = true;
  parked_since_ = now;
  parked_at_seq_ = seq_;
  transport_.reset();
  ticket_ = 0;
}

void ResumedSession::attach(std::weak_ptr<Transport> t, uint32_t shard, uint64_t ticket) {
  transport_ = std::move(t);
  transport_shard_ = shard;
  ticket_ = ticket;
  parked_ = false;
}

void ResumedSession::detach_for_takeover() {
  if (parked_) return;
  close(proto::close_code::resumed_elsewhere, "resumed elsewhere");
  park(Clock::now());
}

}  // namespace sb::service
