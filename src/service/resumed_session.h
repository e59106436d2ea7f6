// service/resumed_session.h — a session that outlived its connection.
//
// When a connection drops and resume is on, its session is moved into a
// ResumedSession on the same (home) loop: same peer id, rooms and seq counter;
// it takes the connection's place in the shard table, so frames for the peer
// keep arriving and are kept in its replay buffer ("parked"). A resume attaches
// it to the new connection, which may live on any loop: the session stays on
// its home loop, stamps each frame's seq there and posts the frame to the
// connection's loop; the connection forwards its input frames to the home loop
// (see Transport). Only the home loop's thread touches it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "core/fifo.h"
#include "routing/local_bus.h"
#include "service/session.h"

namespace sb::service {

class ResumedSession final : public Session, public std::enable_shared_from_this<ResumedSession> {
 public:
  using Clock = std::chrono::steady_clock;
  // `on_overflow` runs (posted, later, on this loop) when a frame kept while
  // parked had to be dropped from the replay buffer.
  ResumedSession(uint32_t home, routing::LocalBus& bus, std::function<void()> on_overflow)
      : Session(home), bus_(bus), on_overflow_(std::move(on_overflow)) {}

  // Parked: stamped and kept. Attached: stamped, kept and posted to the connection. O(1).
  void deliver(const routing::Body& body) override;
  // Attached: the connection sends what it has queued, then closes with `code`. Parked: nothing.
  void close(uint16_t code, std::string_view reason) override;

  // The connection went away at `now`: frames are kept until resume, expiry or overflow.
  void park(Clock::time_point now);
  // Carried from now on by `t`, which lives on loop `shard`, under `ticket`.
  void attach(std::weak_ptr<Transport> t, uint32_t shard, uint64_t ticket);
  // Attached: closes the connection with 4409 and parks (a newer connection is taking over).
  void detach_for_takeover();

  // Input forwarded by the connection waits while paused (see Session::pause_input).
  void pause_input() override { input_paused_ = true; }
  void resume_input() override;
  bool input_paused() const { return input_paused_; }
  // Keeps a forwarded input frame until resume_input(); `drain` (set by the
  // Hub) handles the held frames then, on this loop.
  void hold(std::string frame, Clock::time_point received_at) {
    held_.push_back({std::move(frame), received_at});
  }
  Fifo<std::pair<std::string, Clock::time_point>>& held() { return held_; }
  void set_drain(std::function<void()> drain) { drain_ = std::move(drain); }
  // Runs `fn` on the home loop, later, if this session still exists then.
  std::function<void()> resumer(std::function<void(Session&)> fn) override;

  bool parked() const { return parked_; }
  bool overflowed() const { return overflowed_; }
  Clock::time_point parked_since() const { return parked_since_; }
  uint64_t ticket() const { return ticket_; }

 private:
  routing::LocalBus& bus_;
  std::function<void()> on_overflow_;
  std::weak_ptr<Transport> transport_;
  uint32_t transport_shard_ = 0;
  uint64_t ticket_ = 0;
  bool parked_ = true;
  bool overflowed_ = false;
  uint64_t parked_at_seq_ = 0;  // frames after this one were kept while parked
  Clock::time_point parked_since_{};
  bool input_paused_ = false;
  Fifo<std::pair<std::string, Clock::time_point>> held_;
  std::function<void()> drain_;
};

}  // namespace sb::service
