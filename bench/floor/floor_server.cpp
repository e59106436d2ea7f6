// bench/floor/floor_server.cpp — a floor for the relay's latency, not a signaling server.
//
// The least a server can do to pass the benchmark's relay scenarios: one
// thread, one epoll loop, level-triggered, every reply corked into one send()
// per connection per loop turn. It parses nothing it need not: a frame's
// top-level `type`, `room`, `to` and `id` are found by searching the text
// before `"data":`, and `data` is taken as the rest of the object, which holds
// only for the generator's own frames (data last, no `"data":` before it). It
// checks no token (hello is answered without one), validates no JSON, keeps no
// resume buffer, enforces no limit and speaks only unfragmented text frames.
// What it measures is what the loopback, the kernel's wake-ups and the load
// generator cost on this machine: a latency no server can go below here. It is
// never used for anything else (bench/run --servers floor; docs/performance.md).
//
//   switchboard-floor --listen 127.0.0.1:0
// Prints `listening on http://HOST:PORT` on stderr once listening; stops on SIGINT or SIGTERM.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

struct Conn {
  int fd = -1;
  bool upgraded = false;
  bool closing = false;
  bool dirty = false;     // has output to send at the end of this loop turn
  bool want_out = false;  // EPOLLOUT armed
  uint64_t seq = 0;
  std::string in, out, peer, room;
};

std::unordered_map<int, std::unique_ptr<Conn>> g_conns;
std::unordered_map<std::string, Conn*> g_peers;
std::unordered_map<std::string, std::vector<Conn*>> g_rooms;
std::vector<Conn*> g_dirty;
int g_ep = -1;
uint64_t g_next_peer = 0;

void frame_out(Conn& c, std::string_view payload, uint8_t op = 0x1) {
  char h[10];
  size_t n = 2;
  h[0] = static_cast<char>(0x80 | op);
  if (payload.size() < 126) {
    h[1] = static_cast<char>(payload.size());
  } else if (payload.size() <= 0xFFFF) {
    h[1] = 126;
    h[2] = static_cast<char>(payload.size() >> 8);
    h[3] = static_cast<char>(payload.size());
    n = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; ++i)
      h[2 + i] = static_cast<char>(static_cast<uint64_t>(payload.size()) >> (56 - 8 * i));
    n = 10;
  }
  c.out.append(h, n).append(payload);
  if (!c.dirty) {
    c.dirty = true;
    g_dirty.push_back(&c);
  }
}

// Sends a JSON object given without its closing brace, adding the connection's seq.
void send_json(Conn& c, std::string body) {
  body += ",\"seq\":";
  body += std::to_string(++c.seq);
  body += '}';
  frame_out(c, body);
}

// The string value of top-level `"key":"` within `head`, or empty.
std::string_view field(std::string_view head, std::string_view key) {
  std::string pat = "\"";
  pat.append(key).append("\":\"");
  const size_t at = head.find(pat);
  if (at == std::string_view::npos) return {};
  const size_t from = at + pat.size();
  const size_t end = head.find('"', from);
  return end == std::string_view::npos ? std::string_view() : head.substr(from, end - from);
}

// A numeric top-level `"id":` within `head`, as written, or empty.
std::string_view number_field(std::string_view head, std::string_view key) {
  std::string pat = "\"";
  pat.append(key).append("\":");
  const size_t at = head.find(pat);
  if (at == std::string_view::npos) return {};
  size_t p = at + pat.size(), e = p;
  while (e < head.size() && head[e] >= '0' && head[e] <= '9') ++e;
  return head.substr(p, e - p);
}

void leave(Conn& c) {
  if (c.room.empty()) return;
  auto it = g_rooms.find(c.room);
  if (it != g_rooms.end()) {
    std::erase(it->second, &c);
    for (Conn* o : it->second)
      send_json(*o, R"({"type":"peer-left","room":")" + c.room + R"(","peer":")" + c.peer +
                        R"(","reason":"disconnected")");
    if (it->second.empty()) g_rooms.erase(it);
  }
  c.room.clear();
}

void on_message(Conn& c, std::string_view msg) {
  const size_t data_at = msg.find("\"data\":");
  const std::string_view head = msg.substr(0, data_at);
  const std::string_view type = field(head, "type");
  if (type == "hello") {
    c.peer = "f" + std::to_string(++g_next_peer);
    g_peers[c.peer] = &c;
    return send_json(c, R"({"type":"welcome","session":"s)" + c.peer + R"(","peer":")" + c.peer +
                            R"(","user":"u","heartbeat_s":20,"ice_servers":[])");
  }
  if (type == "join") {
    c.room = std::string(field(head, "room"));
    std::vector<Conn*>& members = g_rooms[c.room];
    std::string joined = R"({"type":"joined","room":")" + c.room + R"(","peers":[)";
    for (size_t i = 0; i < members.size(); ++i) {
      joined += (i ? R"(,{"peer":")" : R"({"peer":")") + members[i]->peer + R"(","user":"u","metadata":{}})";
      send_json(*members[i], R"({"type":"peer-joined","room":")" + c.room + R"(","peer":")" + c.peer +
                                 R"(","user":"u","metadata":{})");
    }
    members.push_back(&c);
    return send_json(c, joined + "]");
  }
  if (type == "ping") return send_json(c, R"({"type":"pong")");
  if (data_at == std::string_view::npos || msg.size() < data_at + 8) return;
  // A relay: data is the rest of the object (the generator's frames end with it).
  const std::string_view data = msg.substr(data_at + 7, msg.size() - data_at - 8);
  std::string out = R"({"type":")";
  out.append(type).append(R"(","room":")").append(c.room).append(R"(","from":")").append(c.peer);
  out.append(R"(","data":)").append(data);
  const std::string_view to = field(head, "to");
  if (!to.empty()) {
    auto it = g_peers.find(std::string(to));
    if (it != g_peers.end()) send_json(*it->second, std::move(out));
  } else if (auto r = g_rooms.find(c.room); r != g_rooms.end()) {
    for (Conn* o : r->second)
      if (o != &c) send_json(*o, out);
  }
  if (const std::string_view id = number_field(head, "id"); !id.empty())
    send_json(c, std::string(R"({"type":"ack","id":)").append(id));
}

bool handshake(Conn& c) {
  const size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) return true;  // more to come
  std::string head = c.in.substr(0, end);
  for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const size_t k = head.find("sec-websocket-key:");
  if (k == std::string::npos) return false;
  size_t v = k + 18;
  while (v < end && c.in[v] == ' ') ++v;
  const size_t e = c.in.find("\r\n", v);
  std::string key = c.in.substr(v, e - v) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(key.data(), key.size(), sha, &len, EVP_sha1(), nullptr);
  unsigned char accept[64];
  EVP_EncodeBlock(accept, sha, static_cast<int>(len));
  c.out +=
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\nSec-WebSocket-Accept: ";
  c.out += reinterpret_cast<char*>(accept);
  c.out += "\r\n\r\n";
  if (!c.dirty) {
    c.dirty = true;
    g_dirty.push_back(&c);
  }
  c.in.erase(0, end + 4);
  c.upgraded = true;
  return true;
}

// Parses whole frames from c.in; false: close the connection.
bool frames(Conn& c) {
  size_t off = 0;
  while (c.in.size() - off >= 2) {
    auto* p = reinterpret_cast<unsigned char*>(c.in.data() + off);
    const size_t avail = c.in.size() - off;
    const unsigned op = p[0] & 0x0F;
    if (!(p[0] & 0x80) || !(p[1] & 0x80)) return false;  // fragmented or unmasked: not spoken here
    uint64_t plen = p[1] & 0x7F;
    size_t hl = 2;
    if (plen == 126) {
      if (avail < 4) break;
      plen = (uint64_t{p[2]} << 8) | p[3];
      hl = 4;
    } else if (plen == 127) {
      if (avail < 10) break;
      plen = 0;
      for (int i = 0; i < 8; ++i) plen = (plen << 8) | p[2 + i];
      hl = 10;
    }
    if (plen > (1u << 20)) return false;
    if (avail < hl + 4 + plen) break;
    const unsigned char* mask = p + hl;
    char* payload = reinterpret_cast<char*>(p + hl + 4);
    for (size_t i = 0; i < plen; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    const std::string_view msg(payload, plen);
    off += hl + 4 + plen;
    if (op == 0x1) {
      on_message(c, msg);
    } else if (op == 0x9) {
      frame_out(c, msg, 0xA);
    } else if (op == 0x8) {
      frame_out(c, msg.substr(0, std::min<size_t>(msg.size(), 2)), 0x8);
      c.closing = true;
      break;
    } else if (op != 0xA) {
      return false;
    }
  }
  c.in.erase(0, off);
  return true;
}

void drop(Conn& c) {
  leave(c);
  if (!c.peer.empty()) g_peers.erase(c.peer);
  std::erase(g_dirty, &c);
  epoll_ctl(g_ep, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  g_conns.erase(c.fd);  // frees c
}

void flush(Conn& c) {
  c.dirty = false;
  while (!c.out.empty()) {
    const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EAGAIN) break;
    return drop(c);
  }
  const bool want = !c.out.empty();
  if (want != c.want_out) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = want;
  }
  if (c.out.empty() && c.closing) drop(c);
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--listen") listen = argv[i + 1];
  const size_t colon = listen.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(listen.substr(colon + 1))));
  if (inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "--listen: an IPv4 HOST:PORT\n");
    return 2;
  }
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 4096) != 0) {
    std::perror("listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen);
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  g_ep = epoll_create1(0);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.fd = lfd;
  epoll_ctl(g_ep, EPOLL_CTL_ADD, lfd, &lev);
  std::fprintf(stderr, "listening on http://%s:%u\n", listen.substr(0, colon).c_str(), ntohs(addr.sin_port));

  std::vector<epoll_event> events(512);
  static char buf[256 * 1024];
  while (!g_stop) {
    const int n = epoll_wait(g_ep, events.data(), static_cast<int>(events.size()), 200);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == lfd) {
        for (int cfd; (cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto c = std::make_unique<Conn>();
          c->fd = cfd;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = cfd;
          epoll_ctl(g_ep, EPOLL_CTL_ADD, cfd, &ev);
          g_conns[cfd] = std::move(c);
        }
        continue;
      }
      auto it = g_conns.find(fd);
      if (it == g_conns.end()) continue;
      Conn& c = *it->second;
      if (events[static_cast<size_t>(i)].events & EPOLLOUT) flush(c);
      if (!g_conns.count(fd) || !(events[static_cast<size_t>(i)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        continue;
      const ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        drop(c);
        continue;
      }
      c.in.append(buf, static_cast<size_t>(r));
      if (!(c.upgraded ? frames(c) : handshake(c) && (!c.upgraded || frames(c)))) drop(c);
    }
    // One send() per connection that has output, after every ready socket was read. A
    // connection dropped on the way told its room (peer-left): those go out in the next round.
    while (!g_dirty.empty()) {
      std::vector<Conn*> now;
      now.swap(g_dirty);
      for (Conn* c : now) flush(*c);  // a dropped connection was taken off g_dirty by drop()
    }
  }
  for (auto& [fd, c] : g_conns) close(fd);
  close(lfd);
  return 0;
}
