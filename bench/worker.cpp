#include "worker.h"

#include <boost/asio/post.hpp>
#include <ctime>

#include "json_scan.h"
#include "jwt_mint.h"

namespace sb::bench {

namespace asio = boost::asio;

namespace {

constexpr size_t kScratchBytes = 256 * 1024;

// SDP-looking filler: what an offer's `data.sdp` carries, JSON-escaped line ends included.
std::string make_pad(size_t n, bool sdp) {
  static constexpr std::string_view kSdp[] = {
      "v=0\\r\\n",
      "o=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\n",
      "s=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0 1\\r\\na=msid-semantic: WMS stream\\r\\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\\r\\nc=IN IP4 0.0.0.0\\r\\n",
      "a=ice-ufrag:Zx3b\\r\\na=ice-pwd:8f0a2f9c1b7d4e6a0c3b5d7e9f1a2b3c\\r\\na=ice-options:trickle\\r\\n",
      "a=fingerprint:sha-256 "
      "7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:"
      "D0:A1:2C:19:08\\r\\n",
      "a=setup:actpass\\r\\na=mid:0\\r\\na=sendrecv\\r\\na=rtcp-mux\\r\\na=rtpmap:111 opus/48000/2\\r\\n",
      "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host generation 0\\r\\n",
  };
  static constexpr std::string_view kText = "lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
  std::string s;
  s.reserve(n + 128);
  for (size_t i = 0; s.size() < n; ++i) s.append(sdp ? kSdp[i % std::size(kSdp)] : kText);
  return s;
}

}  // namespace

Worker::Worker(const Options& o, Shared& shared, unsigned index)
    : o_(o), shared_(shared), index_(index), scratch_(kScratchBytes) {
  for (const Target& t : o.targets) {
    upgrade_requests_.push_back(
        "GET " + t.path + " HTTP/1.1\r\nHost: " + t.host_header +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }
  pad_ = make_pad(o.size + 64, o.scenario == Scenario::relay);
  setup_concurrency_ = std::max(1u, o.concurrency / o.threads);
  if (o.scenario == Scenario::join_storm) {
    const unsigned slots = o.concurrency / o.threads + (index < o.concurrency % o.threads ? 1 : 0);
    peers_.resize(slots);
    for (uint32_t i = 0; i < slots; ++i) peers_[i].index = i;
    return;
  }
  const uint32_t k = o.room_size;
  const uint32_t rooms = o.connections / k;
  for (uint32_t r = index; r < rooms; r += o.threads) {
    for (uint32_t j = 0; j < k; ++j) {
      Peer p;
      p.index = r * k + j;
      p.room = r;
      p.room_name = shared.room_prefix + "-" + std::to_string(r);
      peers_.push_back(std::move(p));
    }
  }
}

Worker::~Worker() {
  join_thread();
}

void Worker::start_thread() {
  guard_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
}

void Worker::join_thread() {
  if (thread_.joinable()) thread_.join();
}

void Worker::begin_setup() {
  asio::post(io_, [this] { setup_more(); });
}

void Worker::end() {
  asio::post(io_, [this] {
    tick_.cancel();
    for (Peer& p : peers_) {
      if (p.ws) p.ws->abort();
      p.ws.reset();
    }
    guard_.reset();
  });
}

void Worker::connect(Peer& p, uint32_t seed) {
  const size_t target = seed % o_.targets.size();
  // A server on another machine is reached from whatever address the route
  // gives; 127.0.0.x sources only make sense for a loopback target.
  const auto source = o_.targets[target].endpoint.address().is_loopback()
                          ? asio::ip::address_v4(0x7f000001u + seed % o_.source_addrs)
                          : asio::ip::address_v4::any();
  const auto tag = static_cast<uint32_t>(&p - peers_.data());
  p.ws = std::make_shared<WsClient>(io_, *this, scratch_, tag);
  p.ws->start(o_.targets[target].endpoint, source, upgrade_requests_[target]);
}

void Worker::setup_more() {
  while (in_setup_ < setup_concurrency_ && next_setup_ < peers_.size()) {
    Peer& p = peers_[next_setup_++];
    ++in_setup_;
    connect(p, p.index);
  }
}

void Worker::setup_done(Peer& p, bool ok) {
  --in_setup_;
  if (!ok) give_up_room(p);
  asio::post(io_, [this] { setup_more(); });
}

void Worker::give_up_room(Peer& p) {
  // A room with a member missing can never be complete: none of it counts as ready.
  const size_t k = o_.room_size;
  const size_t base = static_cast<size_t>(&p - peers_.data()) / k * k;
  for (size_t i = base; i < base + k && i < peers_.size(); ++i) {
    Peer& m = peers_[i];
    if (m.ready || m.gave_up) continue;
    m.gave_up = true;
    shared_.failed.fetch_add(1);
  }
}

void Worker::check_ready(Peer& p) {
  if (p.ready || p.gave_up || !p.joined || p.others.size() + 1 < o_.room_size) return;
  p.ready = true;
  shared_.ready.fetch_add(1);
}

void Worker::on_open(WsClient& c) {
  Peer& p = peers_[c.tag()];
  const std::string sub = o_.scenario == Scenario::join_storm
                              ? "storm-" + std::to_string(index_) + "-" + std::to_string(storm_counter_)
                              : "bench-" + std::to_string(p.index);
  const std::string token = mint_hs256(o_.secret, sub, static_cast<int64_t>(std::time(nullptr)), 3600);
  c.send_text(R"({"type":"hello","token":")" + token + R"("})");
}

void Worker::on_joined(Peer& p, std::string_view peers_json) {
  // `peers` is an array of member objects; the bench's own user ids and
  // metadata never contain the text "peer": so a search suffices.
  static constexpr std::string_view kKey = "\"peer\":";
  for (size_t at = peers_json.find(kKey); at != std::string_view::npos; at = peers_json.find(kKey, at + 1)) {
    size_t q = at + kKey.size();
    while (q < peers_json.size() && peers_json[q] == ' ') ++q;
    const size_t end = peers_json.find('"', q + 1);
    if (q >= peers_json.size() || peers_json[q] != '"' || end == std::string_view::npos) break;
    p.others.emplace_back(peers_json.substr(q + 1, end - q - 1));
  }
  p.joined = true;
  if (o_.scenario == Scenario::join_storm) return storm_joined(p);
  setup_done(p, true);
  check_ready(p);
}

void Worker::on_text(WsClient& c, std::string_view msg) {
  Peer& p = peers_[c.tag()];
  ObjectScanner scan(msg);
  std::string_view key, value, type, seq, data, peer, peers, code, message;
  while (scan.next(key, value)) {
    if (key == "type") {
      type = unquote(value);
    } else if (key == "seq") {
      seq = value;
    } else if (key == "data") {
      data = value;
    } else if (key == "peer") {
      peer = unquote(value);
    } else if (key == "peers") {
      peers = value;
    } else if (key == "code") {
      code = unquote(value);
    } else if (key == "message") {
      message = unquote(value);
    }
  }
  if (!scan.ok() || type.empty()) {
    ++stats_.protocol_errors;
    stats_.note("unparsable frame: " + std::string(msg.substr(0, 120)));
    return;
  }
  uint64_t s = 0;
  if (!parse_u64(seq, s) || s != p.next_seq) {
    ++stats_.seq_errors;
    stats_.note("seq " + std::string(seq) + " where " + std::to_string(p.next_seq) + " was due, in " +
                std::string(type));
  }
  p.next_seq = s + 1;

  if (type == "offer" || type == "message" || type == "answer" || type == "ice-candidate") {
    on_delivery(p, data);
  } else if (type == "welcome") {
    c.send_text(R"({"type":"join","room":")" + p.room_name + R"("})");
  } else if (type == "joined") {
    on_joined(p, peers);
  } else if (type == "peer-joined") {
    p.others.emplace_back(peer);
    check_ready(p);
  } else if (type == "ack") {
    if (measuring()) ++stats_.acked;
  } else if (type == "error") {
    ++stats_.server_errors;
    stats_.note("server error " + std::string(code) + ": " + std::string(message));
  } else if (type != "peer-left" && type != "pong" && type != "peer-updated" && type != "going-away") {
    ++stats_.protocol_errors;
    stats_.note("unexpected frame type " + std::string(type));
  }
}

void Worker::on_closed(WsClient& c, std::string_view why, uint16_t close_code) {
  if (shared_.phase.load() >= kDrain) return;  // the run is ending; the server may be too
  Peer& p = peers_[c.tag()];
  std::string what(why);
  if (close_code) what += " (code " + std::to_string(close_code) + ")";
  if (o_.scenario == Scenario::join_storm) {
    ++stats_.connect_errors;
    stats_.note("join-storm attempt: " + what);
    return storm_retry(p);
  }
  if (!p.joined) {
    ++stats_.connect_errors;
    stats_.note("setup: " + what);
    return setup_done(p, false);
  }
  ++stats_.closed;
  stats_.note("connection lost: " + what);
  if (!p.ready) give_up_room(p);
}

}  // namespace sb::bench
