// Relay and fanout traffic: every ready peer sends; each delivery is timed
// against the send timestamp carried in `data` and frees a slot in the
// sender's window. Flat out, a freed slot is refilled at once (a closed loop
// with at most --window messages per sender in flight); with --rate, a 1 ms
// tick sends what the schedule says is due and drops what a full window
// refuses (counted as skipped), so a slow server sees no pile-up of backlog.
#include <boost/asio/post.hpp>
#include <charconv>

#include "json_scan.h"
#include "worker.h"

namespace sb::bench {

namespace asio = boost::asio;

namespace {

constexpr auto kTick = std::chrono::milliseconds(1);

void append_u64(std::string& s, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  s.append(buf, end);
}

}  // namespace

Peer* Worker::local_peer(uint64_t global_index) {
  const uint64_t k = o_.room_size;
  const uint64_t room = global_index / k;
  if (room % o_.threads != index_) return nullptr;
  const uint64_t local = room / o_.threads * k + global_index % k;
  return local < peers_.size() ? &peers_[local] : nullptr;
}

bool Worker::can_send(const Peer& p) const {
  const uint32_t fan = o_.scenario == Scenario::fanout ? o_.room_size - 1 : 1;
  return p.ready && p.ws && p.ws->is_open() && p.inflight + fan <= o_.window * fan;
}

void Worker::send_one(Peer& p) {
  const bool fanout = o_.scenario == Scenario::fanout;
  frame_.clear();
  frame_.append(fanout ? R"({"type":"message",)" : R"({"type":"offer",)");
  if (o_.ack) {
    frame_.append(R"("id":)");
    append_u64(frame_, next_id_++);
    frame_.push_back(',');
  }
  if (fanout) {
    frame_.append(R"("room":")").append(p.room_name).append(R"(","data":{"ts":)");
  } else {
    const std::string& to = p.others[p.next_to++ % p.others.size()];
    frame_.append(R"("room":")").append(p.room_name);
    frame_.append(R"(","to":")").append(to).append(R"(","data":{"ts":)");
  }
  append_u64(frame_, shared_.now_ns());
  frame_.append(R"(,"s":)");
  append_u64(frame_, p.index);
  frame_.append(fanout ? R"(,"text":")" : R"(,"type":"offer","sdp":")");
  static constexpr std::string_view kClose = "\"}}";
  if (frame_.size() + kClose.size() < o_.size) {
    size_t n = std::min(o_.size - frame_.size() - kClose.size(), pad_.size());
    if (n > 0 && pad_[n - 1] == '\\') --n;  // never cut an escape in half
    frame_.append(pad_, 0, n);
  }
  frame_.append(kClose);
  p.inflight += fanout ? o_.room_size - 1 : 1;
  if (measuring()) ++stats_.sent;
  p.ws->send_text(frame_);
}

void Worker::fill_window(Peer& p) {
  while (sending() && can_send(p)) send_one(p);
}

void Worker::on_delivery(Peer& to, std::string_view data) {
  (void)to;
  uint64_t ts = 0;
  uint64_t sender = 0;
  if (!find_u64(data, "\"ts\":", ts) || !find_u64(data, "\"s\":", sender)) {
    ++stats_.protocol_errors;
    stats_.note("relayed frame without the bench's ts/s in data");
    return;
  }
  if (measuring()) {
    const uint64_t now = shared_.now_ns();
    ++stats_.delivered;
    stats_.latency.record(now > ts ? now - ts : 0);
  }
  Peer* from = local_peer(sender);
  if (!from) {
    ++stats_.protocol_errors;
    stats_.note("relayed frame from an unknown sender");
    return;
  }
  if (from->inflight > 0) --from->inflight;
  if (o_.rate <= 0) fill_window(*from);
}

void Worker::begin_traffic() {
  asio::post(io_, [this] {
    if (o_.scenario == Scenario::join_storm) {
      for (Peer& slot : peers_) storm_attempt(slot);
      return;
    }
    if (o_.scenario == Scenario::idle) return;
    traffic_start_ = std::chrono::steady_clock::now();
    if (o_.rate <= 0) {
      for (Peer& p : peers_) fill_window(p);
      return;
    }
    tick_.expires_at(traffic_start_ + kTick);
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) rate_tick();
    });
  });
}

void Worker::rate_tick() {
  if (!sending() || peers_.empty()) return;
  const double rate = o_.rate / o_.threads;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - traffic_start_).count();
  const auto due = static_cast<uint64_t>(rate * elapsed);
  uint64_t n = due > due_sent_ ? due - due_sent_ : 0;
  due_sent_ += n;
  // After a stall (the machine is shared), do not fire a huge burst: what is
  // more than 20 ms late is dropped and counted, as a real client would skip it.
  const auto burst = static_cast<uint64_t>(rate * 0.02) + 1;
  if (n > burst) {
    if (measuring()) stats_.skipped += n - burst;
    n = burst;
  }
  for (uint64_t i = 0; i < n; ++i) {
    bool sent = false;
    for (size_t tries = 0; tries < peers_.size() && !sent; ++tries) {
      Peer& p = peers_[cursor_++ % peers_.size()];
      if (can_send(p)) {
        send_one(p);
        sent = true;
      }
    }
    if (!sent) {
      if (measuring()) stats_.skipped += n - i;
      break;
    }
  }
  tick_.expires_at(tick_.expiry() + kTick);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) rate_tick();
  });
}

}  // namespace sb::bench
